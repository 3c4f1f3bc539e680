/**
 * How failures reach SDK callers. An answer from the control plane becomes the library's own
 * StratumError with the server's code, so code written against `prisma.$stratum` and code
 * written against the HTTP API branch on the same codes. A request that got no usable answer
 * (refused connection, timeout, a proxy's HTML page) is a StratumTransportError: its codes are
 * not in the core list because the server never sends them.
 */
import { ErrorCodes, StratumError, type ErrorCode } from "../core/errors.js";

export const TransportErrorCodes = ["NETWORK_ERROR", "TIMEOUT", "BAD_RESPONSE"] as const;
export type TransportErrorCode = (typeof TransportErrorCodes)[number];

/** Every code an SDK call can fail with. */
export type SdkErrorCode = ErrorCode | TransportErrorCode;

export class StratumTransportError extends Error {
  override readonly name = "StratumTransportError";
  readonly code: TransportErrorCode;
  /** HTTP status when an answer arrived but was not a control-plane answer (BAD_RESPONSE). */
  readonly status: number | undefined;

  constructor(code: TransportErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}

/** True for any SDK failure with a code (optionally that code): server errors and transport errors alike. */
export function isSdkError(error: unknown, code?: SdkErrorCode): error is StratumError | StratumTransportError {
  const known = error instanceof StratumError || error instanceof StratumTransportError;
  return known && (code === undefined || error.code === code);
}

const knownCodes: ReadonlySet<string> = new Set(ErrorCodes);

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: unknown } | null)?.error as { code?: unknown; message?: unknown } | undefined;
  return typeof error === "object" && error !== null && typeof error.code === "string" && typeof error.message === "string";
}

/**
 * The StratumError for a control-plane error answer, or null when the body is not one (then the
 * answer came from something in between, such as a proxy). A code this SDK does not know (a newer
 * server) becomes INTERNAL, with the server's code kept in details.
 */
export function fromErrorBody(status: number, body: unknown): StratumError | null {
  if (!isErrorBody(body)) return null;
  const { code, message, details } = body.error;
  const extra: Record<string, unknown> = { ...details, http_status: status };
  if (knownCodes.has(code)) return new StratumError(code as ErrorCode, message, extra);
  return new StratumError("INTERNAL", message, { ...extra, server_code: code });
}
