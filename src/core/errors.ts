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
  "DESCENDANTS_TOO_WIDE",
  "ISOLATION_MOVE_FAILED",
  "ISOLATION_MOVE_IN_PROGRESS",
  "PLACEMENT_UNKNOWN",
  "REPLICA_WRITE_REFUSED",
  "UNSAFE_CONNECTION",
  "CONNECTION_LOST",
  "CONNECTION_BUDGET_EXHAUSTED",
  "SESSION_RESET_FAILED",
  "POOLER_DETECTED",
  "ADAPTER_NOT_STRATUM",
  "UNSUPPORTED_DRIVER_VERSION",
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
  "PEER_DEPENDENCY_MISSING",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/**
 * One line per code: what it means. docs/errors.md says more (when it happens, what to do);
 * test/errors-catalogue.test.ts fails when a code thrown in src/ or generators/ is missing from
 * either. Typed over ErrorCode, so a code added above without a line here fails the typecheck.
 */
export const ErrorCatalogue: { readonly [C in ErrorCode]: string } = {
  VALIDATION_FAILED: "An argument or request body failed validation (zod, or a documented limit).",
  INVALID_TENANT_ID: "A tenant id is not a well-formed uuid.",
  CONFIG_VALUE_TOO_LARGE: "A config value exceeds the size stratum stores.",
  SCOPE_KEY_MISMATCH: "The scope key given to stratum() is not one the database holds (current or previous).",
  TENANT_HAS_DATA: "A delete was refused because the tenant still owns rows.",
  TENANT_NOT_FOUND: "No tenant with that id (or slug).",
  SLUG_TAKEN: "Another tenant already uses that slug.",
  INVALID_SLUG: "The slug breaks the slug rules or cannot name a schema.",
  MAX_DEPTH_EXCEEDED: "The tenant tree would be deeper than 20 levels.",
  CYCLE_DETECTED: "A move would put a tenant under its own subtree.",
  TENANT_ARCHIVED: "The tenant is archived; restore it first.",
  TENANT_SUSPENDED: "The tenant is suspended; its data is read-only.",
  TENANT_HAS_CHILDREN: "The tenant has child tenants; delete, purge or move them first.",
  NO_TENANT_CONTEXT: "A tenant model was used with no tenant in scope.",
  TENANT_SCOPE_VIOLATION: "A statement, batch or row would cross from one tenant into another.",
  READ_ONLY_SCOPE: "A write through the read-only descendants view.",
  DESCENDANTS_OUT_OF_REACH: "The descendants view cannot reach descendants that live in their own databases.",
  DESCENDANTS_TOO_WIDE: "The descendants view spans more homes than one statement reads, and this query cannot be assembled across batches.",
  ISOLATION_MOVE_FAILED: "A move between isolation strategies failed; its journal is kept for resume or rollback.",
  ISOLATION_MOVE_IN_PROGRESS: "The tenant is in the middle of an isolation move.",
  PLACEMENT_UNKNOWN: "A DATABASE tenant's placement names no configured server.",
  REPLICA_WRITE_REFUSED: "A write reached the read-replica path (a hot standby, or a replica read's read-only scope) and was refused.",
  UNSAFE_CONNECTION: "The connection fails stratum's safety check (role rights, views, scope key).",
  CONNECTION_LOST: "The database connection broke under a statement; details.mayHaveCommitted says whether it may have committed.",
  CONNECTION_BUDGET_EXHAUSTED: "No connection of a server's tenant-database budget came free within connectionBudget.waitMs.",
  SESSION_RESET_FAILED: "Resetting a session after a raw statement failed; the connection was retired.",
  POOLER_DETECTED: "The server session changed between statements, as behind a transaction pooler; switch pooler mode on.",
  ADAPTER_NOT_STRATUM: "$tenant() on a client with no driver adapter (Accelerate / Prisma Postgres over HTTP): stratum cannot scope its statements.",
  UNSUPPORTED_DRIVER_VERSION: "The installed pg lacks the internals stratum's scoped driver relies on.",
  CONFIG_LOCKED: "An ancestor locked this config key.",
  CONFIG_NOT_FOUND: "The tenant has no value (or no own value) for this config key.",
  PERMISSION_NOT_FOUND: "The tenant has no own grant of this permission.",
  PERMISSION_LOCKED: "An ancestor granted this permission LOCKED.",
  PERMISSION_REVOKED: "The permission was permanently revoked in this subtree.",
  PERMISSION_NOT_DELEGATED: "The inherited permission was not DELEGATED, so it cannot be re-granted here.",
  ENCRYPTION_FAILED: "A value could not be encrypted (no key, not a string, no row id to bind).",
  DECRYPTION_FAILED: "A sealed value could not be decrypted (tampered, moved, truncated, or no key).",
  KEY_NOT_FOUND: "No encryption key for the version asked for, or none configured.",
  RATE_LIMITED: "Over the rate limit, or the limiter is down and fails closed.",
  UNAUTHORIZED: "No API key, or an unknown or revoked one.",
  FORBIDDEN: "The API key lacks the scope or the subtree for this request.",
  NOT_FOUND: "The API key, webhook, delivery, policy, move or route does not exist.",
  CONFLICT: "The thing exists already or is in a state that refuses the request.",
  MIGRATION_FAILED: "A migration failed, was modified after it ran, or was left half-applied.",
  GENERATOR_REFUSED: "prisma generate was refused: a model or option breaks stratum's rules.",
  PEER_DEPENDENCY_MISSING: "A part of stratum that needs an optional peer (ioredis, bullmq, jose) ran where that package is not installed.",
  INTERNAL: "A bug or an inconsistency stratum cannot explain to the caller.",
};

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
