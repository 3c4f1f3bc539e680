/**
 * bench:fleet — fleet migrations (src/migrate/fleet.ts) over SCHEMA homes in the main database and
 * DATABASE homes spread over two servers (the main PostgreSQL and a second instance started
 * through the test harness): how long a run takes when every home is already current (the no-op),
 * when one column was added to a tenant table, when every home is opened and checked (`verify`,
 * what every run cost before homes carried markers), and the first run over homes never marked.
 * Prints homes/s and the peak of connections each run held on each server (pg_stat_activity,
 * sampled every 50 ms).
 *
 *   npm run bench:fleet                                    # 1,000 SCHEMA + 100 DATABASE homes
 *   BENCH_FLEET_SCHEMAS=200 BENCH_FLEET_DATABASES=20 …     # smaller
 *   BENCH_FLEET_CONCURRENCY=8 …                            # homes at once per lane (default 4)
 *   BENCH_SECOND_PG=0 …                                    # every DATABASE home on the main server
 *   BENCH_FLEET_VERIFY=0 …                                 # skip the verify run
 *
 * Set-up (not timed in the table): a scratch database `bench_fleet_<random>` migrated by stratum's
 * runner as `stratum_owner`, tenants created through `$stratum.createTenant` (the DATABASE ones
 * alternately on each server). Everything is dropped at the end, also on failure or Ctrl-C.
 */
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../../src/index.js";
import { createAdminAccess } from "../../src/extension/admin.js";
import { tenantTablesOf } from "../../src/extension/strategies.js";
import { INSTALL_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { type FleetOptions, type FleetReport, migrateFleet } from "../../src/migrate/fleet.js";
import { applyMigrations, pgExecutor } from "../../src/migrate/runner.js";
import { withDatabase } from "../../test/harness/postgres.js";
import { appUrlOf, ensureRoles, OWNER_ROLE, ownerUrlOf } from "../../test/harness/roles.js";
import { withClient } from "../support/pg.js";
import { cleanupOnExit } from "../support/cleanup.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MIGRATIONS_DIR = join(ROOT, "prisma", "migrations");
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const SERVER_ADMIN_URL = withDatabase(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres", "postgres");
const SCHEMAS = env("BENCH_FLEET_SCHEMAS", 1000);
const DATABASES = env("BENCH_FLEET_DATABASES", 100);
const CONCURRENCY = env("BENCH_FLEET_CONCURRENCY", 4);
/** Tenants created at once during set-up. */
const SEED_PARALLEL = env("BENCH_FLEET_SEED_PARALLEL", 4);
const SECOND_PG = process.env.BENCH_SECOND_PG !== "0";
const VERIFY = process.env.BENCH_FLEET_VERIFY !== "0";

const log = (line: string) => console.error(`[bench] ${line}`);

interface Server {
  name: string;
  /** Superuser URL of the server's `postgres` database. */
  adminUrl: string;
}

/** A second PostgreSQL (initdb + pg_ctl) through the test harness, outside vitest. */
async function startSecond(): Promise<{ server: Server; stop: () => Promise<void> } | null> {
  const runId = `bench_fleet_${randomBytes(4).toString("hex")}`;
  process.env.STRATUM_TEST_RUN_ID = runId;
  try {
    const { startSecondPostgres, stopSecondPostgres } = await import("../../test/harness/second-postgres.js");
    const started = await startSecondPostgres();
    return { server: { name: "second", adminUrl: started.adminUrl }, stop: () => stopSecondPostgres(runId) };
  } catch (error) {
    log(`second PostgreSQL not started (${(error as Error).message.split("\n")[0]}); every DATABASE home goes to the main server`);
    return null;
  }
}

/** Runs `fn` over `items`, `parallel` at a time. */
async function inParallel<T>(items: readonly T[], parallel: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/**
 * Samples, every 50 ms, the connections open on each server to the bench's databases (the main
 * one and the tenant databases), from a connection of its own to `postgres` (not counted).
 */
function connectionSampler(servers: Server[], databases: () => Record<string, string[]>) {
  const clients = servers.map((s) => ({ server: s, client: new pg.Client({ connectionString: s.adminUrl }) }));
  const peak: Record<string, number> = {};
  let timer: NodeJS.Timeout | undefined;
  let busy = false;
  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      await Promise.all(
        clients.map(async ({ server, client }) => {
          const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ANY($1::text[])", [
            databases()[server.name] ?? [],
          ]);
          peak[server.name] = Math.max(peak[server.name] ?? 0, rows[0]!.n);
        }),
      );
    } finally {
      busy = false;
    }
  };
  return {
    connect: () => Promise.all(clients.map((c) => c.client.connect())),
    start() {
      for (const k of Object.keys(peak)) delete peak[k];
      timer = setInterval(() => void sample().catch(() => undefined), 50);
    },
    async stop(): Promise<Record<string, number>> {
      clearInterval(timer);
      await sample().catch(() => undefined);
      return { ...peak };
    },
    close: () => Promise.all(clients.map((c) => c.client.end().catch(() => undefined))),
  };
}

interface Row {
  run: string;
  report: FleetReport;
  seconds: number;
  peak: Record<string, number>;
}

async function main(): Promise<void> {
  const started = performance.now();
  const dbName = `bench_fleet_${randomBytes(6).toString("hex")}`;
  const scopeKey = randomBytes(32).toString("hex");
  const { cleanups, cleanup } = cleanupOnExit(log);

  try {
    await ensureRoles(SERVER_ADMIN_URL);
    const servers: Server[] = [{ name: "main", adminUrl: SERVER_ADMIN_URL }];
    await withClient(SERVER_ADMIN_URL, (c) => c.query(`CREATE DATABASE ${dbName} OWNER ${OWNER_ROLE}`));
    cleanups.push(() => withClient(SERVER_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)));
    const ownerUrl = withDatabase(ownerUrlOf(SERVER_ADMIN_URL), dbName);
    await withClient(ownerUrl, async (c) => {
      await applyMigrations(pgExecutor(c), { migrationsDir: MIGRATIONS_DIR });
      await c.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
    });
    if (SECOND_PG && DATABASES > 0) {
      const second = await startSecond();
      if (second) {
        cleanups.push(second.stop);
        servers.push(second.server);
      }
    }
    const adminUrls = Object.fromEntries(servers.map((s) => [s.name, s.adminUrl]));

    // --- tenants, through stratum
    const adapter = stratumAdapter({
      connectionString: withDatabase(appUrlOf(SERVER_ADMIN_URL), dbName),
      pool: { max: SEED_PARALLEL + 2, idleTimeoutMillis: 2_000 },
      servers: Object.fromEntries(servers.map((s) => [s.name, appUrlOf(s.adminUrl)])),
      maxPools: 2,
    });
    const base = new PrismaClient({ adapter, transactionOptions: { maxWait: 60_000, timeout: 60_000 } });
    cleanups.push(() => base.$disconnect());
    const prisma = base.$extends(stratum({ models: stratumModels, scopeKey, admin: { connectionString: ownerUrl, servers: adminUrls } }));
    const homeDatabases: Record<string, string[]> = Object.fromEntries(servers.map((s) => [s.name, s.name === "main" ? [dbName] : []]));
    cleanups.push(async () => {
      for (const s of servers) {
        for (const d of homeDatabases[s.name]!.filter((n) => n !== dbName))
          await withClient(s.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`));
      }
    });
    const t0 = performance.now();
    const schemaPlan = Array.from({ length: SCHEMAS }, (_, i) => ({ name: `Fleet schema ${i}`, isolation_strategy: "SCHEMA" as const }));
    const databasePlan = Array.from({ length: DATABASES }, (_, i) => ({
      name: `Fleet database ${i}`,
      isolation_strategy: "DATABASE" as const,
      server: servers[i % servers.length]!.name,
    }));
    let seeded = 0;
    const create = async (input: (typeof schemaPlan)[number] | (typeof databasePlan)[number]) => {
      const tenant = await prisma.$stratum.createTenant(input);
      if ("server" in input) homeDatabases[input.server]!.push(tenant.placement!.split("/")[1]!);
      if (++seeded % 100 === 0) log(`created ${seeded}/${SCHEMAS + DATABASES} tenants (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    };
    await inParallel(schemaPlan, SEED_PARALLEL, create);
    const schemaSeconds = (performance.now() - t0) / 1000;
    await inParallel(databasePlan, SEED_PARALLEL, create);
    const databaseSeconds = (performance.now() - t0) / 1000 - schemaSeconds;
    const dbCounts = servers.map((s) => `${homeDatabases[s.name]!.length - (s.name === "main" ? 1 : 0)} on ${s.name}`).join(", ");
    log(
      `created ${SCHEMAS} SCHEMA tenants in ${schemaSeconds.toFixed(1)} s (${(SCHEMAS / schemaSeconds).toFixed(1)}/s) and ${DATABASES} DATABASE tenants (${dbCounts}) ` +
        `in ${databaseSeconds.toFixed(1)} s (${(DATABASES / databaseSeconds).toFixed(1)}/s), ${SEED_PARALLEL} at a time`,
    );
    await withClient(withDatabase(SERVER_ADMIN_URL, dbName), async (c) => {
      const { rows } = await c.query<{ relations: number; size: string; locks: number }>(
        `SELECT (SELECT count(*)::int FROM pg_class) AS relations, pg_size_pretty(pg_database_size(current_database())) AS size,
                (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')) AS locks`,
      );
      log(`main database: ${rows[0]!.relations} rows in pg_class, ${rows[0]!.size}; ${rows[0]!.locks} tables (pg_dump locks each one in one transaction)`);
    });
    await base.$disconnect();

    // --- fleet runs
    const deps = {
      admin: createAdminAccess({ connectionString: ownerUrl, servers: adminUrls }),
      tenantTables: tenantTablesOf(stratumModels),
      appRole: "stratum_app",
    };
    const sampler = connectionSampler(servers, () => homeDatabases);
    await sampler.connect();
    cleanups.push(() => sampler.close());
    const rows: Row[] = [];
    const measure = async (label: string, options: FleetOptions = {}) => {
      sampler.start();
      const t = performance.now();
      const report = await migrateFleet(deps, { concurrency: CONCURRENCY, ...options });
      const seconds = (performance.now() - t) / 1000;
      const peak = await sampler.stop();
      if (!report.ok) throw new Error(`${label}: ${report.summary.failed} home(s) failed: ${report.homes.find((h) => h.error)?.error}`);
      rows.push({ run: label, report, seconds, peak });
      log(`${label}: ${seconds.toFixed(2)} s, ${JSON.stringify(report.summary)}, peak connections ${JSON.stringify(peak)}`);
    };
    await measure("first run (homes never marked)");
    await measure("no-op (every home current)");
    if (VERIFY) await measure("no-op with `verify` (every home opened)", { verify: true });
    await withClient(ownerUrl, (c) => c.query("ALTER TABLE public.users ADD COLUMN bench_nickname text NOT NULL DEFAULT ''"));
    await measure("one column added to `users`");
    await measure("no-op again");
    printTable(rows, servers);
    log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await cleanup();
  }
}

function printTable(rows: Row[], servers: Server[]): void {
  const homes = rows[0]?.report.summary.total ?? 0;
  console.log(
    `\nbench:fleet — ${SCHEMAS} SCHEMA + ${DATABASES} DATABASE homes (${homes} in all) over ${servers.length} server(s), concurrency ${CONCURRENCY} per lane\n`,
  );
  console.log(`| run | homes opened | wall | homes/s | peak connections (${servers.map((s) => s.name).join(" / ")}) |`);
  console.log("|---|---:|---:|---:|---:|");
  for (const r of rows) {
    const opened = r.report.summary.migrated;
    console.log(
      `| ${r.run} | ${opened} of ${r.report.summary.total} | ${r.seconds.toFixed(2)} s | ${Math.round(r.report.summary.total / r.seconds).toLocaleString("en")} | ${servers.map((s) => r.peak[s.name] ?? 0).join(" / ")} |`,
    );
  }
  console.log("\nhomes/s counts every home a run covers (checked by its marker, or opened). Peak connections include the run's catalog connection.");
}

await main();
