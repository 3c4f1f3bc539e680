/**
 * StratumErrors raised below Prisma (in the driver adapter) reach the caller wrapped: Prisma turns
 * any error its adapter throws into a PrismaClientKnownRequestError that keeps the `code` and the
 * message but not the class or the details. The driver remembers the errors it raises here, and
 * the scoped clients hand the original back (`retypeDriverError`), so callers can rely on
 * `instanceof StratumError`, `code` and `details` (e.g. CONNECTION_LOST's `mayHaveCommitted`).
 */
import { ErrorCodes, StratumError, type ErrorCode } from "./errors.js";

/** Errors raised recently; a wrapped one is matched by its message within this window. */
const recent: StratumError[] = [];
const KEEP = 64;

export function rememberDriverError<E extends StratumError>(error: E): E {
  recent.push(error);
  if (recent.length > KEEP) recent.shift();
  return error;
}

const CODES: ReadonlySet<string> = new Set(ErrorCodes);

/** The StratumError behind a Prisma-wrapped one, or the error unchanged. */
export function retypeDriverError(error: unknown): unknown {
  if (error instanceof StratumError || !error || typeof error !== "object") return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== "string" || !CODES.has(code) || typeof message !== "string") return error;
  for (let i = recent.length - 1; i >= 0; i--) {
    const original = recent[i]!;
    if (original.code === code && message.endsWith(original.message)) {
      recent.splice(i, 1);
      return original;
    }
  }
  // Prisma prefixes "Invalid `prisma.x.y()` invocation:" and blank lines; the last line is ours.
  const own =
    message
      .split("\n")
      .filter((line) => line.trim() !== "")
      .pop() ?? message;
  return new StratumError(code as ErrorCode, own, undefined, { cause: error });
}

export function rethrowRetyped(error: unknown): never {
  throw retypeDriverError(error);
}
