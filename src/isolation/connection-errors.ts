/**
 * What the driver says when a connection fails under a statement: the pg and server errors that
 * mean the session is gone, or changed under it (a transaction pooler), become StratumErrors with
 * a code and a fix. Each is remembered (core/driver-errors.ts) so callers get it back as itself
 * from under Prisma's wrapping.
 */
import { rememberDriverError } from "../core/driver-errors.js";
import { StratumError } from "../core/errors.js";

/** SQLSTATEs that say our idea of whether the prelude is prepared was wrong (a raw DEALLOCATE, …). */
export const PRELUDE_MISSING = "26000";
export const PRELUDE_EXISTS = "42P05";

/** SQLSTATE classes and driver messages that mean the connection itself is gone. */
const LOST_CODES = new Set(["57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);
const LOST_MESSAGE = /Connection terminated|connection error|not queryable|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|socket hang up/i;

/**
 * The connection broke under a statement (or could not be made): a StratumError saying whether
 * the statement may have committed. It may when it ran outside a transaction, since the break can
 * come after the commit; `committedNothing` says it cannot have (inside a transaction, which the
 * server rolls back, or before anything was sent).
 */
export function connectionLost(error: unknown, committedNothing: boolean): StratumError | undefined {
  if (error instanceof StratumError) return undefined;
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : "";
  if (!LOST_CODES.has(code) && !LOST_MESSAGE.test(`${message} ${code}`)) return undefined;
  const mayHaveCommitted = !committedNothing;
  return rememberDriverError(
    new StratumError(
      "CONNECTION_LOST",
      `The database connection was lost (${message || code}). ${
        mayHaveCommitted
          ? "The statement may have committed before the connection broke: check before retrying a write."
          : "Nothing was committed; retry the call (or the whole transaction)."
      } The pool replaces the connection on the next call.`,
      { mayHaveCommitted, sqlState: code || undefined },
      { cause: error },
    ),
  );
}

/**
 * A statement this client prepared is missing, or one it never prepared already exists, on a
 * session no raw statement touched: the server session changed between statements, which is what
 * a transaction pooler does. Say so, and how to switch pooler mode on.
 */
export function poolerSuspected(error: Error): StratumError | undefined {
  const code = (error as { code?: unknown }).code;
  if (code !== PRELUDE_MISSING && code !== PRELUDE_EXISTS) return undefined;
  return rememberDriverError(
    new StratumError(
      "POOLER_DETECTED",
      `${error.message}: the server session changed between statements, as behind a transaction pooler (PgBouncer pool_mode = transaction, Supabase port 6543, Neon's -pooler host, RDS Proxy). Add ?pgbouncer=true to the connection URL or pass stratumAdapter({ pooler: true }).`,
      { sqlState: code },
      { cause: error },
    ),
  );
}

export function sessionResetFailed(error: unknown): StratumError {
  return rememberDriverError(
    new StratumError(
      "SESSION_RESET_FAILED",
      "A raw statement ran, but resetting its session afterwards failed, so the connection was retired. The statement itself may have committed; check before retrying a write.",
      { reason: error instanceof Error ? error.message : String(error) },
      { cause: error },
    ),
  );
}
