/**
 * One home brought level with the template, in one transaction on the home's own connection:
 * read its tables, plan what is missing (syncPlan: additions only, differences reported as
 * drift), apply the plan with the RLS, grants and (for a tenant database) the scope machinery and
 * keys, and write the home's marker last. The DDL goes to the server as one batch: a home costs a
 * few round trips, not one per statement. A dry run reads and plans in a READ ONLY transaction.
 */
import type pg from "pg";
import { StratumError } from "../core/errors.js";
import { describeTables, REGISTER_TENANT_TOKENS_SQL, syncPlan, tenantDatabaseBaseDdl, tenantSecurityDdl } from "../isolation/ddl.js";
import { type FleetDeps, type FleetHome, type FleetTemplate, markerSql } from "./fleet-catalog.js";

export interface HomeSync {
  /** Schema changes applied (or, in a dry run, that would be). */
  statements: string[];
  /** Differences a sync does not resolve by itself (type changes, columns the template dropped). */
  drift: string[];
}

export interface HomeSyncOptions {
  dryRun: boolean;
  /** How long a DDL statement waits for a table lock before the home fails (and is retried next run). */
  lockTimeoutMs: number;
}

export async function syncHome(client: pg.Client, home: FleetHome, template: FleetTemplate, deps: FleetDeps, options: HomeSyncOptions): Promise<HomeSync> {
  const schema = home.strategy === "SCHEMA" ? home.placement : "public";
  const names = deps.tenantTables.map((t) => t.table);
  await client.query(options.dryRun ? "BEGIN READ ONLY" : "BEGIN");
  try {
    // Before the first read: describing a table locked by a long transaction waits on it too.
    // Local to the transaction, since the connection may serve the lane's next home.
    await client.query(`SET LOCAL lock_timeout = ${Math.trunc(options.lockTimeoutMs)}`);
    const current = await describeTables(client, schema, names);
    const plan = syncPlan(template.catalog, current, names, schema);
    if (options.dryRun) {
      await client.query("ROLLBACK");
      return plan;
    }
    await client.query(homeDdl(home, template, deps, plan.statements).join(";\n"));
    if (home.strategy === "DATABASE") await installScopeKeys(client, template.keys, home.tenant_id);
    await client.query("COMMIT");
    return plan;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** Everything a home's sync runs, in order, marker last. */
function homeDdl(home: FleetHome, template: FleetTemplate, deps: FleetDeps, planned: readonly string[]): string[] {
  if (home.strategy === "SCHEMA") {
    return [...planned, ...tenantSecurityDdl(deps.tenantTables, home.placement, deps.appRole, true, home.tenant_id), markerSql(home, template)];
  }
  // A tenant database also gets the current scope machinery (older versions' databases lack it)
  // and the enums its columns need before the columns are added.
  return [
    ...tenantDatabaseBaseDdl(deps.appRole),
    ...template.enums,
    ...planned,
    ...tenantSecurityDdl(deps.tenantTables, "public", deps.appRole, false, home.tenant_id),
    markerSql(home, template),
  ];
}

/**
 * Makes a tenant database's scope keys the main database's (current and, during a rotation,
 * previous) and signs the tenant's tokens under them — what copyScopeKeys does, with the keys read
 * once per run rather than once per home. Parameters, never literals: a failing statement's text
 * may reach the server log.
 */
async function installScopeKeys(client: pg.Client, keys: FleetTemplate["keys"], tenantId: string): Promise<void> {
  if (keys.length === 0) {
    throw new StratumError("UNSAFE_CONNECTION", "No scope key is installed in the main database; run `npx stratum-prisma migrate` with STRATUM_SCOPE_KEY.");
  }
  await client.query("DELETE FROM public.stratum_scope_keys WHERE NOT (id = ANY($1::int[]))", [keys.map((k) => k.id)]);
  for (const k of keys) {
    await client.query(
      `INSERT INTO public.stratum_scope_keys (id, key) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key
        WHERE stratum_scope_keys.key IS DISTINCT FROM EXCLUDED.key`,
      [k.id, k.key],
    );
  }
  await client.query(REGISTER_TENANT_TOKENS_SQL, [tenantId]);
}
