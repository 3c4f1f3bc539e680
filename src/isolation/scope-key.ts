/**
 * Whether the database holds the scope key this process signs with. With another key every
 * token is unknown to the database: reads would come back empty and writes fail with a raw RLS
 * error. So it is checked before the first statement (start-up) and by the doctor.
 */
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";

/** The doctor's problem line for a key the database does not hold. */
export const SCOPE_KEY_PROBLEM =
  "SCOPE_KEY_MISMATCH: the database does not hold this process's scope key; use the STRATUM_SCOPE_KEY that `npx stratum-prisma migrate` installed (or install this one with it)";

/** True when `db` (under the admin scope) is recognised: its token was signed with a key the database holds. */
export async function scopeKeyHeld(db: Pick<Db, "query">): Promise<boolean> {
  const [row] = await db.query<{ held: boolean }>(`SELECT EXISTS (SELECT 1 FROM public.stratum_scope_current WHERE mode = 'a') AS held`);
  return row?.held === true;
}

export function scopeKeyMismatch(): StratumError {
  return new StratumError(
    "SCOPE_KEY_MISMATCH",
    "The scope key given to stratum() (option scopeKey or env STRATUM_SCOPE_KEY) is not one the database holds, so no tenant's rows would be visible. Use the key `npx stratum-prisma migrate` installed, or install this one with `npx stratum-prisma migrate`.",
  );
}
