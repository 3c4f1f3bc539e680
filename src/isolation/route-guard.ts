/**
 * A statement that raced an isolation move. A scope is built from a route resolved a moment
 * before the statement runs; if the tenant's home flipped in between (this process, or another
 * whose change event has not arrived yet), the statement reaches the old home after it was
 * emptied: a read finds nothing, an update matches nothing, an insert into the shared tables is
 * refused by the shared-home policy, and a schema or database home answers "permission denied"
 * (the move revokes the app role there in the same transaction that empties it).
 *
 * Each of those outcomes is suspicious, never trusted as is: the route is re-read from the
 * database, and when it names another home the operation runs again there. Nothing is run twice
 * that took effect: a read has no effect, an empty write changed nothing, and the refusals above
 * are raised before a row is written. Fail-closed: anything else is returned or thrown unchanged.
 */
import type { TenantScope } from "./scope.js";

/** At most this many re-runs per operation (a tenant moved twice while one statement ran). */
const MAX_RERUNS = 2;

/** Errors meaning the statement reached a home that is no longer the tenant's and wrote nothing. */
const HOME_GONE = /\b(42P01|3D000|42501|P2021|P2025)\b|does not exist|permission denied|row-level security/i;

/** The connection broke under the statement (a dropped tenant database terminates its sessions). */
const CONNECTION_BROKE = /\b(57P01|57P02|3D000|P1001|P1017|CONNECTION_LOST|ECONNRESET)\b|terminat|Connection (is )?closed/i;

export function looksEmpty(result: unknown): boolean {
  if (result === null || result === undefined || result === 0) return true;
  if (Array.isArray(result)) return result.length === 0;
  if (typeof result === "object" && "count" in result && Object.keys(result).length === 1) return (result as { count: unknown }).count === 0;
  return false;
}

function errorText(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown; meta?: unknown; cause?: unknown } | null;
  return `${String(e?.code ?? "")} ${String(e?.message ?? "")} ${JSON.stringify(e?.meta ?? null)} ${String((e?.cause as { message?: unknown } | undefined)?.message ?? "")}`;
}

/**
 * True when the failed statement cannot have written anything the tenant will read: refused by
 * the old home, or — for a tenant database, which a move closes to the app role before dropping
 * it — cut off by the drop.
 */
export function homeGone(error: unknown, scope?: TenantScope): boolean {
  const text = errorText(error);
  return HOME_GONE.test(text) || (scope?.placement !== undefined && CONNECTION_BROKE.test(text));
}

export interface RouteCheck {
  /** True when the tenant's stored route no longer matches `scope` (the cache is refreshed then). */
  moved(scope: TenantScope): Promise<boolean>;
}

/**
 * Runs `run` in `scope`; when the outcome is suspicious (see above) and the route moved, re-runs
 * it in a freshly resolved scope. `write` narrows which failures may be retried: a read may be
 * re-run after any error, a write only after one that proves nothing was written.
 *
 * Written as one promise chain rather than an async function: this wraps every scoped statement,
 * and each promise an async function adds is paid again in AsyncLocalStorage's promise hooks.
 */
export function guardRoute<T>(
  check: RouteCheck,
  scope: TenantScope,
  write: boolean,
  run: (scope: TenantScope) => Promise<T>,
  rescope: () => Promise<TenantScope>,
  attempt = 0,
): Promise<T> {
  const again = (outcome: () => T): Promise<T> =>
    check.moved(scope).then(
      (moved) => (moved ? rescope().then((next) => guardRoute(check, next, write, run, rescope, attempt + 1)) : outcome()),
      () => outcome(),
    );
  return run(scope).then(
    (result) => (attempt < MAX_RERUNS && looksEmpty(result) ? again(() => result) : result),
    (error: unknown) => {
      if (attempt < MAX_RERUNS && (!write || homeGone(error, scope))) {
        return again(() => {
          throw error;
        });
      }
      throw error;
    },
  );
}
