/**
 * The scope protocol: what the runtime and the SQL the generator writes must agree on, written
 * once. A scoped statement carries `SCOPE_SETTING = '<uuid>.<mode>.<sig>'` in a transaction-local
 * setting; the policies (security.ts) admit a row only when that value is a token the database
 * signed itself with the same recipe (`signScope` here, `stratum_scope_sign` in SQL).
 *
 * Imported by the runtime (src/isolation) and by the generator (generators/): neither owns it.
 */
import { createHash } from "node:crypto";

/** The transaction-local setting a scoped statement's token travels in. */
export const SCOPE_SETTING = "stratum.tenant_id";

/** `s` the tenant, `d` it and its descendants, `a` stratum's services, `m` an isolation move. */
export type ScopeMode = "s" | "d" | "a" | "m";

/** The modes the database signs a token for per tenant (`a` is signed once, for ADMIN_TENANT_ID). */
export const TENANT_SCOPE_MODES: readonly ScopeMode[] = ["s", "d", "m"];

/** The all-zero tenant id that the admin token (`a` mode) is signed for. */
export const ADMIN_TENANT_ID = "00000000-0000-0000-0000-000000000000";

/** The owner-only table of scope keys: row 1 the current key, row 2 the previous one during a rotation. */
export const SCOPE_KEY_TABLE = "stratum_scope_keys";
/** Every valid token of this database, written only by the owner's triggers (never granted). */
export const SCOPE_TOKEN_TABLE = "stratum_scope_tokens";

/**
 * HMAC-shaped keyed hash, computed identically by `stratum_scope_sign` in SQL (SCOPE_SIGN_SQL,
 * PostgreSQL has sha256 but no HMAC without pgcrypto): sha256(key || hex(sha256(key || message))).
 */
export function signScope(key: string, tenantId: string, mode: ScopeMode): string {
  const message = `${tenantId}.${mode}`;
  const inner = createHash("sha256")
    .update(key + message, "utf8")
    .digest("hex");
  const signature = createHash("sha256")
    .update(key + inner, "utf8")
    .digest("hex");
  return `${message}.${signature}`;
}

/** The same recipe as signScope, as the SQL expression of `stratum_scope_sign(k, tid, mode)`. */
export const SCOPE_SIGN_SQL =
  "tid::text || '.' || mode || '.' || encode(sha256(convert_to(k || encode(sha256(convert_to(k || tid::text || '.' || mode, 'UTF8')), 'hex'), 'UTF8')), 'hex')";
