/** Stable error codes: callers branch on `code`, never on message text. */
export const ErrorCodes = [
  "VALIDATION_FAILED",
  "INVALID_TENANT_ID",
  "CONFIG_VALUE_TOO_LARGE",
  "SCOPE_KEY_MISMATCH",
  "TENANT_HAS_DATA",
  "TENANT_NOT_FOUND",
  "SLUG_TAKEN",
  "INVALID_SLUG",
  "MAX_DEPTH_EXCEEDED",
  "CYCLE_DETECTED",
  "TENANT_ARCHIVED",
  "TENANT_SUSPENDED",
  "TENANT_HAS_CHILDREN",
  "NO_TENANT_CONTEXT",
  "TENANT_SCOPE_VIOLATION",
  "READ_ONLY_SCOPE",
  "DESCENDANTS_OUT_OF_REACH",
  "ISOLATION_MOVE_FAILED",
  "ISOLATION_MOVE_IN_PROGRESS",
  "PLACEMENT_UNKNOWN",
  "UNSAFE_CONNECTION",
  "ADAPTER_NOT_STRATUM",
  "CONFIG_LOCKED",
  "CONFIG_NOT_FOUND",
  "PERMISSION_NOT_FOUND",
  "PERMISSION_LOCKED",
  "PERMISSION_REVOKED",
  "PERMISSION_NOT_DELEGATED",
  "ENCRYPTION_FAILED",
  "DECRYPTION_FAILED",
  "KEY_NOT_FOUND",
  "RATE_LIMITED",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "MIGRATION_FAILED",
  "GENERATOR_REFUSED",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class StratumError extends Error {
  override readonly name = "StratumError";
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isStratumError(error: unknown, code?: ErrorCode): error is StratumError {
  return error instanceof StratumError && (code === undefined || error.code === code);
}
