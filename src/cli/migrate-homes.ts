/**
 * The tenant-homes half of `stratum-prisma migrate`: after the main database, every SCHEMA and
 * DATABASE home is brought level with it (src/migrate/fleet.ts). It needs what the app knows —
 * the tenant tables (from the project's generated `stratumModels`) and the servers DATABASE
 * tenants live on (`--server name=url`, or STRATUM_SERVERS) — and nothing at all when the
 * database has no such homes. Ctrl-C stops taking new homes; the next run resumes.
 */
import pg from "pg";
import { StratumError } from "../core/errors.js";
import type { StratumModels } from "../core/models.js";
import { createAdminAccess } from "../extension/admin.js";
import { tenantTablesOf } from "../extension/strategies.js";
import { type FleetReport, migrateFleet } from "../migrate/fleet.js";
import { type ProgressSink, progressReporter } from "./migrate-progress.js";
import { loadProjectExport } from "./project-module.js";

export interface MigrateHomesOptions {
  /** Owner URL of the main database. */
  url: string;
  /** Named servers of DATABASE tenants: a URL of a role that owns their databases. */
  servers: Record<string, string>;
  /** Module exporting `stratumModels`. */
  modelsModule: string;
  appRole: string;
  concurrency?: number;
  verify?: boolean;
  dryRun?: boolean;
  tenantIds?: string[];
  lockTimeoutMs?: number;
  /** Progress goes here (stderr in the CLI). */
  progress: ProgressSink;
  interactive: boolean;
  log: (line: string) => void;
}

/** `name=url` pairs, from repeated --server flags or STRATUM_SERVERS (comma or space separated). */
export function parseServers(pairs: readonly string[]): Record<string, string> {
  const servers: Record<string, string> = {};
  for (const pair of pairs.flatMap((p) => p.split(/[\s,]+/)).filter(Boolean)) {
    const eq = pair.indexOf("=");
    const name = pair.slice(0, Math.max(eq, 0));
    if (eq < 1 || !/^[a-z][a-z0-9_]*$/.test(name) || !/^postgres(ql)?:\/\//.test(pair.slice(eq + 1))) {
      throw new StratumError(
        "VALIDATION_FAILED",
        `--server expects name=postgresql://…, got ${JSON.stringify(pair)} (e.g. --server eu=postgresql://owner@eu-db:5432/postgres).`,
      );
    }
    servers[name] = pair.slice(eq + 1);
  }
  return servers;
}

/** How many SCHEMA and DATABASE homes the main database records (0 when stratum's tables are absent). */
async function homeCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number | null }>(
      `SELECT CASE WHEN to_regclass('public.stratum_tenants') IS NULL THEN 0 ELSE
         (SELECT count(*)::int FROM public.stratum_tenants WHERE isolation_strategy IN ('SCHEMA', 'DATABASE') AND placement IS NOT NULL) END AS n`,
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function migrateHomes(options: MigrateHomesOptions): Promise<FleetReport | null> {
  if ((await homeCount(options.url)) === 0) {
    options.log("homes: none (no SCHEMA or DATABASE tenant)");
    return null;
  }
  const models = (await loadProjectExport(options.modelsModule, "stratumModels")) as StratumModels;
  const admin = createAdminAccess({ connectionString: options.url, servers: options.servers });
  const reporter = progressReporter(options.progress, options.interactive);
  const stop = new AbortController();
  const onSignal = () => {
    options.log("\nstopping after the homes in flight (Ctrl-C again to quit now); run again to resume");
    process.off("SIGINT", onSignal);
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  let report: FleetReport;
  try {
    report = await migrateFleet(
      { admin, tenantTables: tenantTablesOf(models), appRole: options.appRole },
      {
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(options.verify !== undefined ? { verify: options.verify } : {}),
        ...(options.tenantIds?.length ? { tenantIds: options.tenantIds } : {}),
        ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
        dryRun: options.dryRun === true,
        onPlan: (p) => reporter.plan(p),
        onProgress: (p) => reporter.home(p),
        signal: stop.signal,
      },
    );
  } finally {
    reporter.end();
    process.off("SIGINT", onSignal);
  }
  for (const line of summaryLines(report)) options.log(line);
  if (!report.ok) {
    const { failed, pending } = report.summary;
    throw new StratumError(
      "MIGRATION_FAILED",
      `${failed} home(s) failed${pending ? `, ${pending} not started` : ""} (listed above); the others are migrated. Fix the cause and run \`stratum-prisma migrate\` again: homes already level are skipped.`,
      { failed, pending },
    );
  }
  return report;
}

/** The run's outcome for people: counts, then what a dry run would change, drift, failures. */
export function summaryLines(report: FleetReport): string[] {
  const s = report.summary;
  const lines: string[] = [];
  const counts = report.dryRun
    ? `homes: ${s.total}: ${s.current} current, ${s.planned} would be migrated`
    : `homes: ${s.total}: ${s.migrated} migrated, ${s.current} already current`;
  lines.push(`${counts}${s.failed ? `, ${s.failed} failed` : ""}${s.pending ? `, ${s.pending} not started` : ""} (${(report.ms / 1000).toFixed(1)} s)`);
  for (const home of report.homes) {
    const label = `${home.strategy} ${home.placement} (tenant ${home.tenant_id})`;
    if (home.status === "planned") {
      const from = home.marker ? `at ${home.marker.migration ?? "an unnamed migration"}` : "never migrated by a fleet run";
      lines.push(`would migrate ${label}, ${from}:`);
      for (const sql of home.planned ?? []) lines.push(`  ${sql.replace(/\s+/g, " ")}`);
      lines.push("  + RLS, grants and the home's marker re-applied");
    }
    for (const d of home.drift) lines.push(`drift ${label}: ${d}`);
    if (home.status === "failed") lines.push(`failed ${label}: ${home.error}`);
  }
  return lines;
}
