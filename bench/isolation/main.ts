/**
 * bench:isolation — what tenant scoping costs per query, measured in one run against the same
 * data: `findUnique` by id and a 20-row `findMany`, scoped per strategy (SHARED_RLS, SCHEMA,
 * DATABASE on the main server and on a second PostgreSQL instance) vs the same query unscoped
 * (superuser: no RLS in play), vs unscoped as the app role on a copy of the table without RLS,
 * vs Prisma's documented batch pattern `$transaction([$executeRaw`set_config…`, query])`, at 1 and
 * 16 concurrent callers. At one caller the scenarios take turns call by call, so drift hits all of
 * them alike; at 16 callers each path runs beside the baseline, in slices ordered baseline, path,
 * path, baseline, and its throughput is read against those baseline slices.
 *
 *   npm run bench:isolation                        # everything (about 4–5 minutes on 2 cores)
 *   BENCH_SECOND_PG=0 npm run bench:isolation      # skip the second instance (initdb + pg_ctl)
 *   BENCH_ROUNDS=5 BENCH_ITERATIONS=2000 BENCH_OPS_16=200 …   # more samples (per round: calls per scenario at 1 caller, calls per caller at 16)
 *   BENCH_ROUTE_TTL_MS=60000 …                     # stratum's route cache TTL (default: 5 s, as without a change bus)
 *   BENCH_ONLY="SHARED_RLS**,adapter" …            # the baseline plus the scenarios whose label contains one of these
 *   BENCH_SKIP_DIAGNOSTICS=1 …                     # only the table
 *
 * Set-up: a scratch database `bench_iso_<random>` on DATABASE_URL's server (default
 * postgres@127.0.0.1:5432), migrated by stratum's runner as `stratum_owner`, a random scope key,
 * tenants created through `$stratum.createTenant`, users seeded through `$tenant(id).user.createMany`.
 * Everything (tenant databases, the second instance) is dropped at the end, also on failure.
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../../src/index.js";
import { seededRandom, shuffled } from "../support/order.js";
import { SHARED_SEARCH_PATH } from "../../src/isolation/names.js";
import { StratumPool } from "../../src/isolation/pg-pipeline.js";
import { currentScope, INSTALL_SCOPE_KEY_SQL, runInScope, signScope, type TenantScope } from "../../src/isolation/scope.js";
import { applyMigrations, pgExecutor } from "../../src/migrate/runner.js";
import { isTracingEnabled, withSpan } from "../../src/telemetry/index.js";
import { withDatabase } from "../../test/harness/postgres.js";
import { appUrlOf, ensureRoles, OWNER_ROLE, ownerUrlOf } from "../../test/harness/roles.js";
import { withClient, randomHex } from "../support/pg.js";
import { cleanupOnExit } from "../support/cleanup.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MIGRATIONS_DIR = join(ROOT, "prisma", "migrations");
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const SERVER_ADMIN_URL = withDatabase(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres", "postgres");
const RLS_TENANTS = env("BENCH_TENANTS", 300);
const SCHEMA_TENANTS = env("BENCH_SCHEMA_TENANTS", 8);
const DATABASE_TENANTS = 4; // 16 callers → 4 per tenant database, poolSize 4 each: 16 connections like the others
const USERS_PER_TENANT = env("BENCH_USERS", 25);
const ROUNDS = env("BENCH_ROUNDS", 3);
const ITER_1 = env("BENCH_ITERATIONS", 800); // per round at 1 caller
const OPS_PER_CALLER_16 = env("BENCH_OPS_16", 120); // per caller per round at 16 callers
const OPS_PER_SLICE_16 = Math.max(1, Math.round(OPS_PER_CALLER_16 / 2)); // two slices of a path per round, between two of the baseline
const WARMUP_PER_CALLER_16 = Math.max(20, Math.round(OPS_PER_CALLER_16 / 10));
const POOL_MAX = 16;
const SECOND_PG = process.env.BENCH_SECOND_PG !== "0";
const DIAGNOSTICS = process.env.BENCH_SKIP_DIAGNOSTICS !== "1";

const log = (line: string) => console.error(`[bench] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Statistics

interface Result {
  p50: number;
  p99: number;
  opsPerSec: number;
  n: number;
}

function summarize(samples: number[], ops: number, wallMs: number): Result {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p99: at(0.99), opsPerSec: (ops * 1000) / wallMs, n: s.length };
}

/** Runs `op` from `callers` concurrent loops, `perCaller` times each; returns latencies and wall time. */
async function drive(callers: number, perCaller: number, op: (caller: number, n: number) => Promise<unknown>, samples?: number[]): Promise<number> {
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let n = 0; n < perCaller; n++) {
        const t0 = performance.now();
        await op(c, n);
        samples?.push(performance.now() - t0);
      }
    }),
  );
  return performance.now() - start;
}

// ---------------------------------------------------------------------------------------------
// Set-up

interface Seeded {
  id: string;
  slug: string;
  /** The tenant's home (schema name, or `<server>/<database>`); homes are named from the id. */
  placement: string | null;
  userIds: string[];
}

interface Server {
  name: string;
  /** Superuser URL of the server's `postgres` database. */
  adminUrl: string;
}

/** A second PostgreSQL (initdb + pg_ctl) through the test harness, outside vitest. */
async function startSecond(): Promise<{ server: Server; stop: () => Promise<void> } | null> {
  const runId = `bench_iso_${randomHex(4)}`;
  process.env.STRATUM_TEST_RUN_ID = runId;
  try {
    const { startSecondPostgres, stopSecondPostgres } = await import("../../test/harness/second-postgres.js");
    const started = await startSecondPostgres();
    return { server: { name: "second", adminUrl: started.adminUrl }, stop: () => stopSecondPostgres(runId) };
  } catch (error) {
    log(`second PostgreSQL not started (${(error as Error).message.split("\n")[0]}); DATABASE runs on the main server only`);
    return null;
  }
}

function buildStratumClient(dbName: string, scopeKey: string, servers: Server[]) {
  const appUrls = Object.fromEntries(servers.map((s) => [s.name, appUrlOf(s.adminUrl)]));
  // Server URLs name the maintenance database; placements swap in the tenant database's name.
  const adminUrls = Object.fromEntries(servers.map((s) => [s.name, s.adminUrl]));
  const adapter = stratumAdapter({
    connectionString: withDatabase(appUrlOf(SERVER_ADMIN_URL), dbName),
    pool: { max: POOL_MAX, idleTimeoutMillis: 2_000 },
    servers: appUrls,
    poolSize: POOL_MAX / DATABASE_TENANTS,
    maxPools: 16,
  });
  const base = new PrismaClient({ adapter });
  const prisma = base.$extends(
    stratum({
      models: stratumModels,
      scopeKey,
      admin: { connectionString: withDatabase(ownerUrlOf(SERVER_ADMIN_URL), dbName), servers: adminUrls },
      ...(process.env.BENCH_ROUTE_TTL_MS ? { routeTtlMs: Number(process.env.BENCH_ROUTE_TTL_MS) } : {}),
    }),
  );
  return { prisma, base, close: () => base.$disconnect() };
}

type StratumClient = ReturnType<typeof buildStratumClient>["prisma"];

function plainClient(url: string, schema?: string) {
  const pool = new pg.Pool({ connectionString: url, max: POOL_MAX, idleTimeoutMillis: 2_000 });
  return new PrismaClient({ adapter: new PrismaPg(pool, schema ? { schema } : undefined) });
}

async function seedTenant(
  prisma: StratumClient,
  input: { name: string; slug: string; isolation_strategy: "SHARED_RLS" | "SCHEMA" | "DATABASE"; server?: string },
): Promise<Seeded> {
  const tenant = await prisma.$stratum.createTenant(input);
  const data = Array.from({ length: USERS_PER_TENANT }, (_, i) => ({
    id: randomUUID(),
    tenant_id: tenant.id,
    email: `user${i}@${tenant.slug}.bench`,
    name: `User ${i}`,
  }));
  await prisma.$tenant(tenant.id).user.createMany({ data });
  return { id: tenant.id, slug: tenant.slug, placement: tenant.placement, userIds: data.map((d) => d.id) };
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/** "findUnique, one tenant": 16 callers ask the same tenant at a time (where batching within a tenant can apply). */
type Query = "findUnique" | "findMany" | "findUnique, one tenant";
const QUERIES: readonly Query[] = ["findUnique", "findMany", "findUnique, one tenant"];

interface Scenario {
  label: string;
  /** Shown in the table's "connects as" column. */
  role: string;
  tenants: Seeded[];
  run: (query: Query, tenant: Seeded, userId: string) => Promise<unknown>;
  /** Checks the result shape once, before measuring. */
  check?: boolean;
}

/** Which tenant caller `c` queries on its `n`th call when all callers ask one tenant at a time (each its own user). */
function pickShared(tenants: Seeded[], _callers: number, c: number, n: number): { tenant: Seeded; userId: string } {
  const tenant = tenants[n % tenants.length]!;
  return { tenant, userId: tenant.userIds[(n * 7 + c) % tenant.userIds.length]! };
}

/** Which tenant caller `c` queries on its `n`th call: 16 distinct tenants at a time, all of them over a run. */
function pick(tenants: Seeded[], callers: number, c: number, n: number): { tenant: Seeded; userId: string } {
  const tenant = tenants[(c + n * callers) % tenants.length]!;
  return { tenant, userId: tenant.userIds[(n * 7 + c) % tenant.userIds.length]! };
}

async function verify(s: Scenario): Promise<void> {
  const t = s.tenants[0]!;
  const one = (await s.run("findUnique", t, t.userIds[3]!)) as { id: string; tenant_id: string } | null;
  if (!one || one.id !== t.userIds[3] || one.tenant_id !== t.id) throw new Error(`${s.label}: findUnique returned ${JSON.stringify(one)}`);
  const many = (await s.run("findMany", t, t.userIds[0]!)) as Array<{ tenant_id: string }>;
  if (many.length !== 20 || many.some((u) => u.tenant_id !== t.id)) throw new Error(`${s.label}: findMany returned ${many.length} rows`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (isTracingEnabled()) throw new Error("a tracer provider is registered; this benchmark measures the no-provider path");
  const started = performance.now();
  const dbName = `bench_iso_${randomHex(6)}`;
  const scopeKey = randomHex(32);
  const { cleanups, cleanup } = cleanupOnExit(log);

  try {
    // --- databases and roles
    await ensureRoles(SERVER_ADMIN_URL);
    const servers: Server[] = [{ name: "main", adminUrl: SERVER_ADMIN_URL }];
    await withClient(SERVER_ADMIN_URL, (c) => c.query(`CREATE DATABASE ${dbName} OWNER ${OWNER_ROLE}`));
    cleanups.push(() => withClient(SERVER_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)));
    const ownerUrl = withDatabase(ownerUrlOf(SERVER_ADMIN_URL), dbName);
    const superUrl = withDatabase(SERVER_ADMIN_URL, dbName);
    const appUrl = withDatabase(appUrlOf(SERVER_ADMIN_URL), dbName);
    await withClient(ownerUrl, async (c) => {
      const result = await applyMigrations(pgExecutor(c), { migrationsDir: MIGRATIONS_DIR });
      log(`${dbName}: applied ${result.applied.join(", ")}`);
      await c.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
    });

    let second: Awaited<ReturnType<typeof startSecond>> = null;
    if (SECOND_PG) {
      const t0 = performance.now();
      second = await startSecond();
      if (second) {
        const stop = second.stop;
        cleanups.push(stop);
        servers.push(second.server);
        log(`second PostgreSQL at ${second.server.adminUrl} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
    }

    // --- tenants and rows, through stratum
    const { prisma, base: stratumBase, close } = buildStratumClient(dbName, scopeKey, servers);
    cleanups.push(close);
    const tag = randomHex(3);
    const t0 = performance.now();
    const rls: Seeded[] = [];
    for (let i = 0; i < RLS_TENANTS; i++) {
      rls.push(await seedTenant(prisma, { name: `Bench RLS ${i}`, slug: `biso_${tag}_r${i}`, isolation_strategy: "SHARED_RLS" }));
    }
    const schema: Seeded[] = [];
    for (let i = 0; i < SCHEMA_TENANTS; i++) {
      schema.push(await seedTenant(prisma, { name: `Bench Schema ${i}`, slug: `biso_${tag}_s${i}`, isolation_strategy: "SCHEMA" }));
    }
    const databases: Record<string, Seeded[]> = {};
    for (const [si, server] of servers.entries()) {
      const list: Seeded[] = (databases[server.name] = []);
      for (let i = 0; i < DATABASE_TENANTS; i++) {
        const slug = `biso_${tag}_d${si}_${i}`;
        // A failed create drops the database it made; a made one is dropped WITH (FORCE) at the end.
        const seeded = await seedTenant(prisma, { name: `Bench DB ${server.name} ${i}`, slug, isolation_strategy: "DATABASE", server: server.name });
        const database = seeded.placement!.split("/")[1]!;
        cleanups.push(() => withClient(server.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)));
        list.push(seeded);
        // The test harness drops uncommented `stratum_t_*` databases it thinks are stale; say when this one was made.
        await withClient(server.adminUrl, (c) => c.query(`COMMENT ON DATABASE "${database}" IS 'stratum bench tenant created=${new Date().toISOString()}'`));
      }
    }
    const totalTenants = rls.length + schema.length + servers.length * DATABASE_TENANTS;
    log(`seeded ${totalTenants} tenants × ${USERS_PER_TENANT} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // --- the no-RLS copy for "app role, no RLS": same columns, indexes and rows, in schema bench_plain
    await withClient(superUrl, async (c) => {
      await c.query(`CREATE SCHEMA bench_plain AUTHORIZATION ${OWNER_ROLE}`);
      await c.query(`CREATE TABLE bench_plain.users (LIKE public.users INCLUDING ALL)`);
      await c.query(`INSERT INTO bench_plain.users SELECT * FROM public.users`);
      await c.query(`ALTER TABLE bench_plain.users OWNER TO ${OWNER_ROLE}`);
      await c.query(`GRANT USAGE ON SCHEMA bench_plain TO stratum_app; GRANT SELECT ON bench_plain.users TO stratum_app`);
      await c.query(`ANALYZE public.users; ANALYZE bench_plain.users`);
    });

    // --- clients
    const superClient = plainClient(superUrl);
    const appPlainClient = plainClient(appUrl, "bench_plain");
    const appBatchClient = plainClient(appUrl);
    cleanups.push(
      () => superClient.$disconnect(),
      () => appPlainClient.$disconnect(),
      () => appBatchClient.$disconnect(),
    );
    const tokens = new Map(rls.map((t) => [t.id, signScope(scopeKey, t.id, "s")]));

    const select = { id: true, tenant_id: true, email: true, name: true } as const;
    const unscoped = (client: PrismaClient) => (q: Query, t: Seeded, id: string) =>
      q !== "findMany" ? client.user.findUnique({ where: { id }, select }) : client.user.findMany({ where: { tenant_id: t.id }, take: 20, select });
    const scoped = (q: Query, t: Seeded, id: string) => {
      const c = prisma.$tenant(t.id);
      return q !== "findMany" ? c.user.findUnique({ where: { id }, select }) : c.user.findMany({ where: { tenant_id: t.id }, take: 20, select });
    };
    // The adapter alone: the scope put in AsyncLocalStorage by hand, no `$tenant` extension on top.
    // Its search_path is the one `$tenant` sends: with another, the two paths would re-plan each
    // other's statements on every switch (prepared statements are named per search_path, adapter.ts).
    const rlsScopes = new Map(
      rls.map((t) => [
        t.id,
        { tenantId: t.id, mode: "s", strategy: "SHARED_RLS", token: tokens.get(t.id)!, searchPath: SHARED_SEARCH_PATH, readOnly: false } satisfies TenantScope,
      ]),
    );
    const adapterIn = (scopes: Map<string, TenantScope>) => (q: Query, t: Seeded, id: string) =>
      runInScope(scopes.get(t.id)!, () =>
        (q !== "findMany"
          ? stratumBase.user.findFirst({ where: { id }, select })
          : stratumBase.user.findMany({ where: { tenant_id: t.id }, take: 20, select })
        ).then((x) => x),
      );
    const adapterOnly = adapterIn(rlsScopes);
    // SCHEMA against its own table: the same tenant's home table, superuser (no RLS), and the adapter
    // alone in the scope `$tenant` resolves for it (captured once inside a scoped transaction).
    const schemaSuper = new Map(schema.map((t) => [t.id, plainClient(superUrl, t.placement!)]));
    for (const c of schemaSuper.values()) cleanups.push(() => c.$disconnect());
    const schemaScopes = new Map<string, TenantScope>();
    for (const t of schema) schemaScopes.set(t.id, await prisma.$tenant(t.id).$transaction(async () => currentScope()!));
    const unscopedSchema = (q: Query, t: Seeded, id: string) => unscoped(schemaSuper.get(t.id)!)(q, t, id);
    const adapterOnlySchema = adapterIn(schemaScopes);
    // Raw SQL through the scoped client: the same reads as `$queryRaw`, which the driver follows
    // with a session reset (DISCARD ALL) before the connection serves anyone else. On a client of
    // its own: the reset also drops the connection's prepared statements, and the model paths
    // sharing its pool would pay for re-preparing them (≈ 0.2× in a trial run).
    const rawClient = buildStratumClient(dbName, scopeKey, servers);
    cleanups.push(rawClient.close);
    const scopedRaw = async (q: Query, t: Seeded, id: string) => {
      const c = rawClient.prisma.$tenant(t.id);
      if (q === "findMany") return c.$queryRaw`SELECT id, tenant_id, email, name FROM users WHERE tenant_id = ${t.id}::uuid LIMIT 20`;
      const rows = await c.$queryRaw<Array<{ id: string; tenant_id: string }>>`SELECT id, tenant_id, email, name FROM users WHERE id = ${id}::uuid`;
      return rows[0] ?? null;
    };
    const batch = async (q: Query, t: Seeded, id: string) => {
      const c = appBatchClient;
      const set = c.$executeRaw`SELECT set_config('stratum.tenant_id', ${tokens.get(t.id)!}, true)`;
      const [, rows] = await c.$transaction([set, unscoped(c)(q, t, id)]);
      return rows;
    };

    const scenarios: Scenario[] = [
      { label: "unscoped (baseline)", role: "superuser, RLS bypassed", tenants: rls, run: unscoped(superClient) },
      { label: "unscoped, table without RLS", role: "stratum_app", tenants: rls, run: unscoped(appPlainClient) },
      { label: "Prisma batch `$transaction([set_config, q])`", role: "stratum_app, RLS", tenants: rls, run: batch },
      { label: "**scoped SHARED_RLS**", role: "stratum_app, RLS", tenants: rls, run: scoped },
      { label: "scoped SHARED_RLS, adapter only (no `$tenant` extension)", role: "stratum_app, RLS", tenants: rls, run: adapterOnly },
      { label: "scoped SHARED_RLS, raw `$queryRaw` (+ session reset)", role: "stratum_app, RLS", tenants: rls, run: scopedRaw },
      { label: "**scoped SCHEMA**", role: "stratum_app", tenants: schema, run: scoped },
      { label: "unscoped, the SCHEMA tenant's own table", role: "superuser", tenants: schema, run: unscopedSchema },
      { label: "scoped SCHEMA, adapter only (no `$tenant` extension)", role: "stratum_app", tenants: schema, run: adapterOnlySchema },
      ...servers.map((s) => ({
        label: `**scoped DATABASE** (${s.name === "main" ? "same server" : "second instance"})`,
        role: "stratum_app",
        tenants: databases[s.name]!,
        run: scoped,
      })),
    ];
    const only = process.env.BENCH_ONLY?.split(",");
    if (only) scenarios.splice(1, scenarios.length, ...scenarios.slice(1).filter((s) => only.some((o) => s.label.includes(o))));
    for (const s of scenarios) await verify(s);
    log("every scenario returns the expected rows");

    // --- measure: rounds × (concurrency × query × scenario), interleaved
    // Node CPU per operation too: unlike latency it does not move with the server's scheduling.
    const samples = new Map<string, { lat: number[]; ops: number; wall: number; cpuUs: number }>();
    /** 16 callers: a path's calls and time, and those of the baseline slices around them. */
    const pairs = new Map<string, { ops: number; wall: number; baseOps: number; baseWall: number }>();
    const key = (s: Scenario, q: Query, c: number) => `${s.label}|${q}|${c}`;
    const record = (s: Scenario, q: Query, callers: number, lat: number[], wall: number, cpuUs: number) => {
      const entry = samples.get(key(s, q, callers)) ?? { lat: [], ops: 0, wall: 0, cpuUs: 0 };
      entry.lat.push(...lat);
      entry.ops += lat.length;
      entry.wall += wall;
      entry.cpuUs += cpuUs;
      samples.set(key(s, q, callers), entry);
    };
    const random = seededRandom(0x5eed);
    for (let round = 0; round < ROUNDS; round++) {
      const tr = performance.now();
      for (const q of QUERIES) {
        const oneTenant = q === "findUnique, one tenant";
        // One caller: the scenarios take turns call by call, in a shuffled order, so whatever the
        // machine does meanwhile (autovacuum, a checkpoint, the other core's load) falls on all alike.
        for (const s of oneTenant ? [] : scenarios) {
          await drive(1, 80, (c, n) => {
            const { tenant, userId } = pick(s.tenants, 1, c, n);
            return s.run(q, tenant, userId);
          });
        }
        const lat = new Map(scenarios.map((s) => [s, [] as number[]]));
        const cpu = new Map(scenarios.map((s) => [s, 0]));
        const wall = new Map(scenarios.map((s) => [s, 0]));
        for (let n = 0; n < (oneTenant ? 0 : ITER_1); n++) {
          // A fresh order every call: a fixed cycle would always run each path right after the
          // same neighbour, and charge it whatever that neighbour leaves behind (the batch
          // pattern's COMMIT, its garbage).
          const order = shuffled(scenarios, random);
          for (let i = 0; i < order.length; i++) {
            const s = order[i]!;
            const { tenant, userId } = pick(s.tenants, 1, 0, n + round * ITER_1);
            const c0 = process.cpuUsage();
            const t0 = performance.now();
            await s.run(q, tenant, userId);
            const dt = performance.now() - t0;
            const c = process.cpuUsage(c0);
            lat.get(s)!.push(dt);
            wall.set(s, wall.get(s)! + dt);
            cpu.set(s, cpu.get(s)! + c.user + c.system);
          }
        }
        if (!oneTenant) for (const s of scenarios) record(s, q, 1, lat.get(s)!, wall.get(s)!, cpu.get(s)!);
        // Sixteen callers: each path beside the baseline, in slices ordered baseline, path, path,
        // baseline (one path at a time: they would compete for the pools and cores otherwise).
        // Whole phases one after another let a few seconds of drift, or one neighbour's garbage
        // collection, land on one path's entire sample and move its ratio by a fifth; paired
        // slices share whatever the machine does at that moment.
        const opOf = (s: Scenario, offset: number) => (c: number, n: number) => {
          const { tenant, userId } = (oneTenant ? pickShared : pick)(s.tenants, 16, c, offset + n);
          return s.run(q, tenant, userId);
        };
        const baseline = scenarios[0]!;
        const others = scenarios.slice(1);
        for (const s of others.map((_, i) => others[(i + round) % others.length]!)) {
          const offset = round * OPS_PER_CALLER_16;
          await drive(16, WARMUP_PER_CALLER_16, opOf(baseline, offset)); // connections, plans, route cache
          await drive(16, WARMUP_PER_CALLER_16, opOf(s, offset));
          const pair = pairs.get(key(s, q, 16)) ?? { ops: 0, wall: 0, baseOps: 0, baseWall: 0 };
          for (const [slice, x] of [baseline, s, s, baseline].entries()) {
            const l: number[] = [];
            const c0 = process.cpuUsage();
            const w = await drive(16, OPS_PER_SLICE_16, opOf(x, offset + (slice >> 1) * OPS_PER_SLICE_16), l);
            const c = process.cpuUsage(c0);
            record(x, q, 16, l, w, c.user + c.system);
            if (x === baseline) {
              pair.baseOps += l.length;
              pair.baseWall += w;
            } else {
              pair.ops += l.length;
              pair.wall += w;
            }
          }
          pairs.set(key(s, q, 16), pair);
        }
      }
      log(`round ${round + 1}/${ROUNDS}: ${((performance.now() - tr) / 1000).toFixed(1)} s`);
    }

    const results = new Map<string, Result & { cpuUsPerOp: number }>();
    for (const [k, v] of samples) results.set(k, { ...summarize(v.lat, v.ops, v.wall), cpuUsPerOp: v.cpuUs / v.ops });

    // --- telemetry: withSpan with no provider, ns per call
    const span = await measureWithSpan();

    // --- diagnostics: where the time goes
    const diagnostics = DIAGNOSTICS ? await diagnose(superUrl, appUrl, rls, scopeKey) : [];

    // --- report
    const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
    const ratio = (x: number, base: number) => `${(x / base).toFixed(2)}×`;
    const pairedRatio = (s: Scenario, q: Query) => {
      const p = pairs.get(key(s, q, 16));
      return p ? ratio(p.ops / p.wall, p.baseOps / p.baseWall) : "1.00×";
    };
    const lines: string[] = [];
    const pgVersion = await withClient(superUrl, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v);
    lines.push(
      `Node ${process.version}, PostgreSQL ${pgVersion}, Prisma 7.10 + @prisma/adapter-pg, ${os.cpus().length} cores; ` +
        `${totalTenants} tenants × ${USERS_PER_TENANT} users (${rls.length} SHARED_RLS, ${schema.length} SCHEMA, ${servers.length * DATABASE_TENANTS} DATABASE); ` +
        `${ROUNDS} interleaved rounds; 1 caller: ${ROUNDS * ITER_1} samples, 16 callers: ${ROUNDS * 16 * 2 * OPS_PER_SLICE_16} samples per path, between as many of the baseline's; pools of ${POOL_MAX} connections; ` +
        `load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(" / ")} at the end.`,
      "",
    );
    for (const q of QUERIES) {
      const title = {
        findUnique: "`user.findUnique({ where: { id } })`",
        findMany: "`user.findMany({ where: { tenant_id }, take: 20 })`",
        "findUnique, one tenant": "`user.findUnique({ where: { id } })`, the 16 callers asking one tenant at a time (1 caller: as above)",
      }[q];
      lines.push(`#### ${title}`, "");
      lines.push(
        "| path | connects as | 1 caller p50 | p99 | ops/s | p50 vs baseline | Node CPU per op | 16 callers p50 | p99 | ops/s | p50 vs baseline | ops/s vs the baseline beside it | Node CPU per op, 16 callers |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      );
      const base1 = results.get(key(scenarios[0]!, q, 1));
      const base16 = results.get(key(scenarios[0]!, q, 16))!;
      for (const s of scenarios) {
        const r1 = results.get(key(s, q, 1));
        const r16 = results.get(key(s, q, 16))!;
        const one =
          r1 && base1
            ? `${fmt(r1.p50)} | ${fmt(r1.p99)} | ${r1.opsPerSec.toFixed(0)} | ${ratio(r1.p50, base1.p50)} | ${r1.cpuUsPerOp.toFixed(0)} µs`
            : "— | — | — | — | —";
        lines.push(
          `| ${s.label} | ${s.role} | ${one} | ` +
            `${fmt(r16.p50)} | ${fmt(r16.p99)} | ${r16.opsPerSec.toFixed(0)} | ${ratio(r16.p50, base16.p50)} | ${pairedRatio(s, q)} | ${r16.cpuUsPerOp.toFixed(0)} µs |`,
        );
      }
      lines.push("");
    }
    lines.push("Targets, p50 at 1 caller vs the unscoped baseline:", "");
    const target = (label: string, limit: number) => {
      const s = scenarios.find((x) => x.label === label);
      if (!s) return;
      for (const q of ["findUnique", "findMany"] as const) {
        const r = results.get(key(s, q, 1))!.p50 / results.get(key(scenarios[0]!, q, 1))!.p50;
        lines.push(`- ${label.replace(/\*/g, "")} ${q}: ${r.toFixed(2)}× (target ≤ ${limit.toFixed(2)}×) ${r <= limit ? "met" : "**missed**"}`);
      }
    };
    target("**scoped SHARED_RLS**", 1.1);
    target("**scoped SCHEMA**", 1.15);
    target("**scoped DATABASE** (same server)", 1.15);
    target("**scoped DATABASE** (second instance)", 1.15);
    lines.push("");
    const scopedP50 = results.get(key(scenarios.find((x) => x.label.includes("scoped SHARED_RLS"))!, "findUnique", 1))!.p50;
    lines.push(
      `Telemetry, no provider registered: \`withSpan\` costs ${span.syncNs.toFixed(0)} ns per call synchronously and ` +
        `${span.asyncNs > 0 ? `${span.asyncNs.toFixed(0)} ns` : `nothing measurable (${span.asyncNs.toFixed(0)} ns, below the noise)`} around an awaited promise; ` +
        `the larger of the two is ${((Math.max(span.syncNs, span.asyncNs) / (scopedP50 * 1e6)) * 100).toFixed(3)} % of the scoped SHARED_RLS findUnique p50 (${fmt(scopedP50)}).`,
      "",
    );
    if (diagnostics.length) lines.push(...diagnostics, "");
    lines.push(`Total run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
    console.log(lines.join("\n"));
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Telemetry

async function measureWithSpan(): Promise<{ syncNs: number; asyncNs: number }> {
  const attrs = { tenantId: "6f1c2a8e-0d7b-4c39-9a51-2b0e7c4d5f60", isolationStrategy: "SHARED_RLS" };
  const N = 2_000_000;
  let sink = 0;
  const work = (i: number) => (i * 31) ^ 7;
  const asyncWork = async (i: number) => (i * 31) ^ 7;
  const timeSync = (f: (i: number) => number) => {
    const t = performance.now();
    for (let i = 0; i < N; i++) sink += f(i);
    return performance.now() - t;
  };
  const timeAsync = async (f: (i: number) => Promise<number>) => {
    const t = performance.now();
    for (let i = 0; i < N / 10; i++) sink += await f(i);
    return performance.now() - t;
  };
  const r = { sd: [] as number[], ss: [] as number[], ad: [] as number[], as: [] as number[] };
  for (let round = 0; round < 6; round++) {
    const sd = timeSync(work);
    const ss = timeSync((i) => withSpan("stratum.bench", attrs, () => work(i)));
    const ad = await timeAsync(asyncWork);
    const as = await timeAsync((i) => withSpan("stratum.bench", attrs, () => asyncWork(i)));
    if (round === 0) continue; // warm-up
    r.sd.push(sd), r.ss.push(ss), r.ad.push(ad), r.as.push(as);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  if (sink === 42) log("");
  return {
    syncNs: ((median(r.ss) - median(r.sd)) * 1e6) / N,
    asyncNs: ((median(r.as) - median(r.ad)) * 1e6) / (N / 10),
  };
}

// ---------------------------------------------------------------------------------------------
// Diagnostics: raw pg timings (no Prisma) and server-side execution time

async function diagnose(superUrl: string, appUrl: string, tenants: Seeded[], scopeKey: string): Promise<string[]> {
  const N = 3000;
  const out: string[] = ["Where the time goes (1 caller, raw `pg` on one connection, no Prisma; p50 of " + N + "):", ""];
  const sql = `SELECT "id", "tenant_id", "email", "name" FROM "public"."users" WHERE "id" = $1 LIMIT $2 OFFSET $3`;
  const sqlPlain = sql.replace(`"public"."users"`, `"bench_plain"."users"`);
  const scopeOf = (t: Seeded): TenantScope => ({
    tenantId: t.id,
    mode: "s",
    strategy: "SHARED_RLS",
    token: signScope(scopeKey, t.id, "s"),
    searchPath: SHARED_SEARCH_PATH,
    readOnly: false,
  });

  const time = async (label: string, fn: (t: Seeded, id: string) => Promise<unknown>) => {
    for (let i = 0; i < 300; i++) await fn(tenants[i % tenants.length]!, tenants[i % tenants.length]!.userIds[i % 20]!);
    const lat: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = tenants[(i * 13) % tenants.length]!;
      const t0 = performance.now();
      await fn(t, t.userIds[i % 20]!);
      lat.push(performance.now() - t0);
    }
    const r = summarize(lat, N, 1);
    out.push(`| ${label} | ${r.p50.toFixed(3)} ms | ${r.p99.toFixed(3)} ms |`);
    return r.p50;
  };
  out.push("| raw statement | p50 | p99 |", "|---|---:|---:|");
  const superPool = new pg.Pool({ connectionString: superUrl, max: 1 });
  const appPool = new StratumPool({ connectionString: appUrl, max: 1, stratum: { defaultSearchPath: SHARED_SEARCH_PATH } });
  try {
    const check = async (p: Promise<pg.QueryResult>, t: Seeded) => {
      const r = await p;
      if (r.rows.length !== 1 || (r.rows[0] as { tenant_id: string }).tenant_id !== t.id) throw new Error("diagnostics: wrong row");
    };
    await time("`SELECT … WHERE id = $1` as superuser (1 round trip)", (t, id) => check(superPool.query(sql, [id, 1, 0]), t));
    await time("same, as app role on the table without RLS", (t, id) => check(appPool.query(sqlPlain, [id, 1, 0]), t));
    await time("prelude + same, pipelined (pg-pipeline.ts), table without RLS", (t, id) =>
      runInScope(scopeOf(t), () => check(appPool.query(sqlPlain, [id, 1, 0]), t)),
    );
    await time("prelude + same, pipelined, RLS table (what SHARED_RLS sends)", (t, id) =>
      runInScope(scopeOf(t), () => check(appPool.query(sql, [id, 1, 0]), t)),
    );
    await time("BEGIN; set_config; query; COMMIT — 4 round trips", async (t, id) => {
      const c = await appPool.connect();
      try {
        await c.query("BEGIN");
        await c.query("SELECT set_config('stratum.tenant_id', $1, true)", [scopeOf(t).token]);
        await check(c.query(sql, [id, 1, 0]), t);
        await c.query("COMMIT");
      } finally {
        c.release();
      }
    });

    // Server-side: execution time of the query as the app role in scope, vs as superuser.
    const t = tenants[0]!;
    const explain = async (pool: pg.Pool, text: string, scope?: TenantScope) => {
      const run = () =>
        pool.query(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${text.replace("$1", `'${t.userIds[0]}'`).replace("$2", "1").replace("$3", "0")}`);
      const times: number[] = [];
      let plan = "";
      for (let i = 0; i < 200; i++) {
        const r = (await (scope ? runInScope(scope, run) : run())).rows[0] as {
          "QUERY PLAN": Array<{ "Execution Time": number; "Planning Time": number; Plan: unknown }>;
        };
        const p = r["QUERY PLAN"][0]!;
        times.push(p["Execution Time"] + p["Planning Time"]);
        plan = JSON.stringify(p.Plan);
      }
      times.sort((a, b) => a - b);
      return { ms: times[100]!, plan };
    };
    const su = await explain(superPool, sql);
    const rls = await explain(appPool, sql, scopeOf(t));
    const many = await explain(appPool, `SELECT "id", "tenant_id", "email", "name" FROM "public"."users" WHERE "tenant_id" = '${t.id}' LIMIT 20`, scopeOf(t));
    const index = (plan: string) => [...plan.matchAll(/"Index Name":"([^"]+)"/g)].map((m) => m[1]).join(", ") || "no index";
    out.push(
      "",
      `Server side (EXPLAIN ANALYZE, planning + execution, median of 200): findUnique as superuser ${(su.ms * 1000).toFixed(0)} µs (${index(su.plan)}); ` +
        `as the app role in a SHARED_RLS scope ${(rls.ms * 1000).toFixed(0)} µs (${index(rls.plan)}); 20-row findMany in scope ${(many.ms * 1000).toFixed(0)} µs (${index(many.plan)}).`,
    );
    // The policy's scope check, once per statement (an InitPlan): the shipped token lookup through
    // the owner's view vs the former design, a SECURITY DEFINER function that verified the token's
    // signature with two sha256() per statement (kept here, in pg_temp, as the comparison).
    const perCall = await withClientTx(superPool, scopeOf(t).token, async (c) => {
      await c.query(HASHING_SCOPE_TENANTS_SQL);
      const same = await c.query(`SELECT pg_temp.stratum_scope_tenants_hashing() = ${SHIPPED_SCOPE_CHECK} AS same`);
      if (!(same.rows[0] as { same: boolean }).same) throw new Error("diagnostics: the two scope checks disagree");
      const us = async (expr: string) => {
        const ms: number[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) SELECT ${expr} FROM generate_series(1, 1000)`);
          ms.push((r.rows[0] as { "QUERY PLAN": Array<{ "Execution Time": number }> })["QUERY PLAN"][0]!["Execution Time"]);
        }
        return ms.sort((a, b) => a - b)[2]!; // ms per 1000 calls = µs per call
      };
      return {
        // Correlated with the outer row so it runs 1000 times, not once as an InitPlan.
        shipped: await us(SHIPPED_SCOPE_CHECK.replace("v WHERE", "v WHERE generate_series IS NOT NULL AND")),
        hashing: await us("pg_temp.stratum_scope_tenants_hashing()"),
        setConfig: await us("set_config('stratum.tenant_id', current_setting('stratum.tenant_id'), true)"),
      };
    });
    out.push(
      "",
      `Scope check per statement (median of 5 × 1000 evaluations): the shipped token lookup (view over \`stratum_scope_tokens\`) ${perCall.shipped.toFixed(1)} µs; ` +
        `the former SECURITY DEFINER function verifying the signature with sha256() ${perCall.hashing.toFixed(1)} µs (same result); a set_config ${perCall.setConfig.toFixed(1)} µs.`,
    );
  } finally {
    await superPool.end();
    await appPool.end();
  }
  return out;
}

async function withClientTx<T>(pool: pg.Pool, token: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    await c.query("SELECT set_config('stratum.tenant_id', $1, true)", [token]);
    return await fn(c);
  } finally {
    await c.query("ROLLBACK").catch(() => undefined);
    c.release();
  }
}

/** The policies' InitPlan as src/sql/security.ts ships it (SCOPE_TENANTS). */
const SHIPPED_SCOPE_CHECK = `(SELECT CASE v.mode WHEN 'd' THEN public.stratum_scope_tenants() ELSE ARRAY[v.tenant_id] END FROM public.stratum_scope_current v WHERE v.mode <> 'a')`;

/** The former verification (session 1): a SECURITY DEFINER function hashing the token per statement. */
const HASHING_SCOPE_TENANTS_SQL = `
CREATE FUNCTION pg_temp.stratum_scope_tenants_hashing() RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  raw text := current_setting('stratum.tenant_id', true);
  k text;
BEGIN
  IF raw IS NULL OR length(raw) <> 103 THEN RETURN '{}'::uuid[]; END IF;
  SELECT s.key INTO k FROM public.stratum_scope_keys s WHERE s.id = 1;
  IF k IS NULL OR encode(sha256(convert_to(k || encode(sha256(convert_to(k || left(raw, 38), 'UTF8')), 'hex'), 'UTF8')), 'hex') <> right(raw, 64) THEN
    RETURN '{}'::uuid[];
  END IF;
  IF substr(raw, 38, 1) NOT IN ('s', 'm') THEN RETURN '{}'::uuid[]; END IF;
  RETURN ARRAY[left(raw, 36)::uuid];
END $fn$`;

await main();
