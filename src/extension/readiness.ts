/**
 * Readiness: what a load balancer or `stratum health` needs to know before sending traffic.
 * Each check answers on its own so an operator sees every failing part at once; messages name
 * the fix, never a driver error (the cause is returned separately for the server log).
 */
import type { StratumRuntime } from "./runtime.js";

export interface ReadinessCheck {
  name: "database" | "migrations" | "scope_key" | "connection";
  ok: boolean;
  message: string;
  /** The underlying error, for logs only. */
  cause?: unknown;
}

/** Stratum's own tables: all of them exist once `stratum migrate` has run. */
const STRATUM_TABLES = [
  "stratum_tenants",
  "stratum_scope_tokens",
  "stratum_config",
  "stratum_permissions",
  "stratum_audit",
  "stratum_api_keys",
  "stratum_webhooks",
  "stratum_deliveries",
  "stratum_consents",
  "stratum_isolation_moves",
  "stratum_abac_policies",
  "stratum_role_assignments",
];

async function missingTables(runtime: StratumRuntime): Promise<string[]> {
  const rows = await runtime.db.query<{ name: string }>(
    `SELECT t.name FROM unnest($1::text[]) AS t(name) WHERE to_regclass('public.' || t.name) IS NULL ORDER BY t.name`,
    [STRATUM_TABLES],
  );
  return rows.map((r) => r.name);
}

/** The admin token is only recognised when the database holds the scope key it was signed with. */
async function scopeKeyHeld(runtime: StratumRuntime): Promise<boolean> {
  const rows = await runtime.db.query<{ held: boolean }>(`SELECT EXISTS (SELECT 1 FROM public.stratum_scope_current WHERE mode = 'a') AS held`);
  return rows[0]?.held === true;
}

export async function checkReadiness(runtime: StratumRuntime): Promise<ReadinessCheck[]> {
  try {
    await runtime.db.query("SELECT 1 AS one");
  } catch (cause) {
    return [{ name: "database", ok: false, message: "The database does not answer: check that it exists and that DATABASE_URL points at it.", cause }];
  }
  const checks: ReadinessCheck[] = [{ name: "database", ok: true, message: "The database answers." }];
  const missing = await missingTables(runtime);
  if (missing.length > 0) {
    checks.push({ name: "migrations", ok: false, message: `Stratum's tables are missing (${missing.join(", ")}): run \`stratum migrate\`.` });
    return checks;
  }
  checks.push({ name: "migrations", ok: true, message: "Stratum's tables exist." });
  const held = await scopeKeyHeld(runtime).catch(() => false);
  checks.push(
    held
      ? { name: "scope_key", ok: true, message: "The scope key matches the database's." }
      : { name: "scope_key", ok: false, message: "The scope key is not one the database holds: use the STRATUM_SCOPE_KEY that `stratum migrate` installed." },
  );
  const report = await runtime.doctor();
  checks.push(
    report.ok
      ? { name: "connection", ok: true, message: `Role ${report.role} cannot bypass tenant isolation.` }
      : { name: "connection", ok: false, message: `Role ${report.role} is unsafe: ${report.problems.join("; ")}.` },
  );
  return checks;
}
