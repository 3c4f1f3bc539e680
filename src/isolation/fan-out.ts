/**
 * Migrations reach schema and database tenants by synchronisation, not replay: after the main
 * database is migrated, every tenant home is compared with the template (the main database's
 * public tenant tables) and brought level — missing tables, columns, constraints and indexes
 * added, RLS and grants re-applied. A run is idempotent, so an interrupted fan-out resumes by
 * running again; differences it will not resolve alone (type changes, dropped columns) are
 * reported per home.
 */
import type pg from "pg";
import { z } from "zod";
import { validate } from "../core/validate.js";
import { copyScopeKeys, describeTables, syncPlan, tenantDatabaseBaseDdl, tenantSecurityDdl, type TenantTable } from "./ddl.js";
import type { AdminAccess } from "./strategy.js";

export interface FanOutDeps {
  admin: AdminAccess;
  tenantTables: readonly TenantTable[];
  appRole: string;
}

const FanOutOptions = z
  .object({
    /** Homes migrated at once. */
    concurrency: z.number().int().min(1).max(32).default(4),
    /** Only these tenants (default: every SCHEMA and DATABASE tenant). */
    tenantIds: z.array(z.string().uuid()).optional(),
  })
  .strict();
export type FanOutOptions = z.input<typeof FanOutOptions> & {
  onProgress?: (progress: { done: number; total: number; tenant_id: string; error?: string }) => void;
};

export interface HomeReport {
  tenant_id: string;
  strategy: "SCHEMA" | "DATABASE";
  placement: string;
  applied: string[];
  drift: string[];
  error?: string;
}

export async function migrateTenantHomes(deps: FanOutDeps, input: FanOutOptions = {}): Promise<{ homes: HomeReport[]; ok: boolean }> {
  const { onProgress, ...rest } = input;
  const options = validate(FanOutOptions, rest, "fan-out options");
  const names = deps.tenantTables.map((t) => t.table);
  const main = await deps.admin.main();
  let homes: Array<{ id: string; isolation_strategy: "SCHEMA" | "DATABASE"; placement: string }>;
  try {
    homes = (
      await main.query(
        `SELECT id, isolation_strategy, placement FROM public.stratum_tenants
          WHERE isolation_strategy IN ('SCHEMA', 'DATABASE') AND placement IS NOT NULL
            AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[])) ORDER BY created_at, id`,
        [options.tenantIds ?? null],
      )
    ).rows;
  } finally {
    await main.end();
  }
  const reports: HomeReport[] = [];
  let next = 0;
  const worker = async () => {
    while (next < homes.length) {
      const home = homes[next++]!;
      const report = await syncHome(deps, home, names).catch((error: unknown): HomeReport => ({
        tenant_id: home.id, strategy: home.isolation_strategy, placement: home.placement, applied: [], drift: [], error: (error as Error).message,
      }));
      reports.push(report);
      onProgress?.({ done: reports.length, total: homes.length, tenant_id: home.id, ...(report.error ? { error: report.error } : {}) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, homes.length) }, worker));
  return { homes: reports, ok: reports.every((r) => !r.error) };
}

async function syncHome(deps: FanOutDeps, home: { id: string; isolation_strategy: "SCHEMA" | "DATABASE"; placement: string }, names: string[]): Promise<HomeReport> {
  const isSchema = home.isolation_strategy === "SCHEMA";
  const schema = isSchema ? home.placement : "public";
  const templateClient = await deps.admin.main();
  const homeClient = isSchema ? templateClient : await deps.admin.database(home.placement);
  try {
    await templateClient.query("BEGIN");
    const template = await describeTables(templateClient, "public", names);
    if (!isSchema) await homeClient.query("BEGIN");
    const current = await describeTables(homeClient, schema, names);
    const plan = syncPlan(template, current, names, schema);
    // A tenant database also gets the current scope machinery (older versions' databases lack it).
    const base = isSchema ? [] : tenantDatabaseBaseDdl(deps.appRole);
    for (const sql of [...base, ...plan.statements, ...tenantSecurityDdl(deps.tenantTables, schema, deps.appRole, isSchema, home.id)]) await homeClient.query(sql);
    // A tenant database keeps its own copy of the scope keys: this carries a rotation there.
    if (!isSchema) await copyScopeKeys(templateClient, homeClient, home.id);
    if (!isSchema) await homeClient.query("COMMIT");
    await templateClient.query("COMMIT");
    return { tenant_id: home.id, strategy: home.isolation_strategy, placement: home.placement, applied: plan.statements, drift: plan.drift };
  } catch (error) {
    await rollback(homeClient);
    if (!isSchema) await rollback(templateClient);
    throw error;
  } finally {
    await templateClient.end().catch(() => undefined);
    if (!isSchema) await homeClient.end().catch(() => undefined);
  }
}

async function rollback(client: pg.Client): Promise<void> {
  await client.query("ROLLBACK").catch(() => undefined);
}
