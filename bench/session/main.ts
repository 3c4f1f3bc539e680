/**
 * bench:session — what raw statements and transaction poolers cost since the driver resets the
 * session after every scoped raw statement (`DISCARD ALL`, one more round trip, and the next
 * statement on that connection parses the prelude and itself again) and gained a pooler mode
 * (`?pgbouncer=true`: nothing prepared by name, raw statements in BEGIN / statement /
 * reset+COMMIT). docs/security.md explains why both exist; this measures what they cost.
 *
 *   npm run bench:session                              # about 1–2 minutes on 2 cores
 *   BENCH_ROUNDS=4 BENCH_ITERATIONS=800 …              # more samples (per round, per scenario)
 *   BENCH_OPS_16=0 …                                   # skip the 16-caller ops/s
 *   BENCH_PGBOUNCER=0 …                                # skip the PgBouncer scenarios
 *
 * At 1 caller every scenario runs once per iteration, in an order shuffled each iteration by a
 * seeded PRNG, so whatever else the machine does falls on all of them alike. Ratios compare each
 * scenario with the baseline of its own path (direct, or through the same PgBouncer) in this run.
 *
 * Set-up as bench/isolation: a scratch database `bench_session_<random>` on 127.0.0.1:5432 (or
 * DATABASE_URL's server), migrated by stratum's runner as `stratum_owner`, a random scope key,
 * tenants through `$stratum.createTenant`, users through `$tenant(id).user.createMany`. The
 * database and the PgBouncer are removed at the end, also on failure or Ctrl-C.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../../src/index.js";
import { seededRandom, shuffled } from "../support/order.js";
import { INSTALL_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { applyMigrations, pgExecutor } from "../../src/migrate/runner.js";
import { startPgBouncer } from "../../test/harness/pgbouncer.js";
import { withDatabase } from "../../test/harness/postgres.js";
import { appUrlOf, ensureRoles, OWNER_ROLE, ownerUrlOf } from "../../test/harness/roles.js";
import { withClient, randomHex } from "../support/pg.js";
import { cleanupOnExit } from "../support/cleanup.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MIGRATIONS_DIR = join(ROOT, "prisma", "migrations");
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const SERVER_ADMIN_URL = withDatabase(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres", "postgres");
const RLS_TENANTS = env("BENCH_TENANTS", 40);
const SCHEMA_TENANTS = env("BENCH_SCHEMA_TENANTS", 8);
const USERS_PER_TENANT = env("BENCH_USERS", 25);
const ROUNDS = env("BENCH_ROUNDS", 3);
const ITER_1 = env("BENCH_ITERATIONS", 250);
const OPS_PER_CALLER_16 = env("BENCH_OPS_16", 40);
const POOL_MAX = 16;
const PGBOUNCER = process.env.BENCH_PGBOUNCER !== "0";

const SELECT = { id: true, tenant_id: true, email: true, name: true } as const;
/** What a tenant's code would write: no tenant filter, the scope (RLS or search_path) supplies it. */
const RAW_SCOPED = `SELECT "id", "tenant_id", "email", "name" FROM users LIMIT 20`;
/** The same read unscoped, as the superuser, filtering by hand. */
const RAW_UNSCOPED = `SELECT "id", "tenant_id", "email", "name" FROM users WHERE tenant_id = $1::uuid LIMIT 20`;

const log = (line: string) => console.error(`[bench] ${line}`);

// ---------------------------------------------------------------------------------------------
// Statistics and ordering

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

// ---------------------------------------------------------------------------------------------
// Set-up

interface Seeded {
  id: string;
}

/** A stratum client on `appUrl` (direct, or a bouncer's `?pgbouncer=true` URL); admin work goes direct. */
function stratumClient(appUrl: string, ownerUrl: string, scopeKey: string, poolMax: number) {
  const adapter = stratumAdapter({ connectionString: appUrl, pool: { max: poolMax, idleTimeoutMillis: 5_000 } });
  const base = new PrismaClient({ adapter });
  const prisma = base.$extends(stratum({ models: stratumModels, scopeKey, admin: { connectionString: ownerUrl } }));
  return { prisma, close: () => base.$disconnect() };
}

type StratumClient = ReturnType<typeof stratumClient>["prisma"];

/** A plain Prisma client; its pool is ours to end (PrismaPg leaves a pool it was given open). */
function plainClient(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: POOL_MAX, idleTimeoutMillis: 5_000 });
  // Idle connections die when the bouncer stops or the database is dropped: not a crash.
  pool.on("error", () => undefined);
  const client = new PrismaClient({ adapter: new PrismaPg(pool) });
  const close = async () => {
    await client.$disconnect();
    await pool.end();
  };
  return { client, close };
}

async function seedTenants(prisma: StratumClient, strategy: "SHARED_RLS" | "SCHEMA", count: number, tag: string): Promise<Seeded[]> {
  const out: Seeded[] = [];
  for (let i = 0; i < count; i++) {
    const slug = `bses_${tag}_${strategy === "SCHEMA" ? "s" : "r"}${i}`;
    const tenant = await prisma.$stratum.createTenant({ name: `Bench ${slug}`, slug, isolation_strategy: strategy });
    const data = Array.from({ length: USERS_PER_TENANT }, (_, j) => ({
      id: randomUUID(),
      tenant_id: tenant.id,
      email: `u${j}@${slug}.bench`,
      name: `User ${j}`,
    }));
    await prisma.$tenant(tenant.id).user.createMany({ data });
    out.push({ id: tenant.id });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

type Row = { tenant_id: string };

interface Scenario {
  label: string;
  /** Which baseline the ratio is against: the direct one, or the one through the same bouncer. */
  path: "direct" | "pgbouncer";
  baseline?: boolean;
  tenants: Seeded[];
  /** Runs untimed right before the timed call (sets up the connection state being measured). */
  prepare?: (t: Seeded) => Promise<unknown>;
  run: (t: Seeded) => Promise<Row[]>;
  /** Included in the 16-caller throughput pass (not the pool-of-1 scenarios). */
  concurrent: boolean;
}

interface Clients {
  superPlain: PrismaClient;
  scoped: StratumClient;
  single: StratumClient;
  bouncerPlain?: PrismaClient;
  bouncerScoped?: StratumClient;
}

function scenarios(c: Clients, rls: Seeded[], schema: Seeded[]): Scenario[] {
  const unscoped = (p: PrismaClient) => (t: Seeded) => p.user.findMany({ where: { tenant_id: t.id }, take: 20, select: SELECT });
  const unscopedRaw = (p: PrismaClient) => (t: Seeded) => p.$queryRawUnsafe<Row[]>(RAW_UNSCOPED, t.id);
  const model = (p: StratumClient) => (t: Seeded) => p.$tenant(t.id).user.findMany({ take: 20, select: SELECT });
  const raw = (p: StratumClient) => (t: Seeded) => p.$tenant(t.id).$queryRawUnsafe<Row[]>(RAW_SCOPED);
  const list: Scenario[] = [
    { label: "unscoped findMany, superuser (baseline)", path: "direct", baseline: true, tenants: rls, run: unscoped(c.superPlain), concurrent: true },
    { label: "unscoped `$queryRawUnsafe`, superuser", path: "direct", tenants: rls, run: unscopedRaw(c.superPlain), concurrent: true },
    { label: "scoped findMany, SHARED_RLS", path: "direct", tenants: rls, run: model(c.scoped), concurrent: true },
    { label: "scoped findMany, SCHEMA", path: "direct", tenants: schema, run: model(c.scoped), concurrent: true },
    { label: "scoped `$queryRawUnsafe`, SHARED_RLS (+ DISCARD ALL)", path: "direct", tenants: rls, run: raw(c.scoped), concurrent: true },
    { label: "scoped `$queryRawUnsafe`, SCHEMA (+ DISCARD ALL)", path: "direct", tenants: schema, run: raw(c.scoped), concurrent: true },
    // Pool of 1: the timed read always lands on the connection the untimed call just used.
    {
      label: "pool of 1: scoped findMany after a scoped findMany",
      path: "direct",
      tenants: rls,
      prepare: model(c.single),
      run: model(c.single),
      concurrent: false,
    },
    {
      label: "pool of 1: scoped findMany after a scoped raw (re-parse)",
      path: "direct",
      tenants: rls,
      prepare: raw(c.single),
      run: model(c.single),
      concurrent: false,
    },
  ];
  if (c.bouncerPlain && c.bouncerScoped) {
    list.push(
      {
        label: "PgBouncer: unscoped findMany, superuser (baseline)",
        path: "pgbouncer",
        baseline: true,
        tenants: rls,
        run: unscoped(c.bouncerPlain),
        concurrent: true,
      },
      { label: "PgBouncer `?pgbouncer=true`: scoped findMany, SHARED_RLS", path: "pgbouncer", tenants: rls, run: model(c.bouncerScoped), concurrent: true },
      { label: "PgBouncer `?pgbouncer=true`: scoped findMany, SCHEMA", path: "pgbouncer", tenants: schema, run: model(c.bouncerScoped), concurrent: true },
      {
        label: "PgBouncer `?pgbouncer=true`: scoped `$queryRawUnsafe`, SHARED_RLS",
        path: "pgbouncer",
        tenants: rls,
        run: raw(c.bouncerScoped),
        concurrent: true,
      },
    );
  }
  return list;
}

/** Every scenario must return the tenant's 20 rows and nothing else before it is timed. */
async function verify(list: Scenario[]): Promise<void> {
  for (const s of list) {
    for (const t of s.tenants.slice(0, 3)) {
      await s.prepare?.(t);
      const rows = await s.run(t);
      if (rows.length !== 20 || rows.some((r) => r.tenant_id !== t.id))
        throw new Error(`${s.label}: ${rows.length} rows, tenants ${[...new Set(rows.map((r) => r.tenant_id))].join(",")}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement

/** One caller: per iteration every scenario once, in a freshly shuffled order. */
async function measureOneCaller(list: Scenario[], random: () => number): Promise<Map<Scenario, number[]>> {
  const lat = new Map(list.map((s) => [s, [] as number[]]));
  for (const s of list) {
    // Warm-up: connections opened, statements prepared, routes cached.
    for (let n = 0; n < 30; n++) {
      const t = s.tenants[n % s.tenants.length]!;
      await s.prepare?.(t);
      await s.run(t);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    const tr = performance.now();
    for (let n = 0; n < ITER_1; n++) {
      for (const s of shuffled(list, random)) {
        const t = s.tenants[(n * 7 + round) % s.tenants.length]!;
        if (s.prepare) await s.prepare(t);
        const t0 = performance.now();
        await s.run(t);
        lat.get(s)!.push(performance.now() - t0);
      }
    }
    log(`1 caller, round ${round + 1}/${ROUNDS}: ${((performance.now() - tr) / 1000).toFixed(1)} s`);
  }
  return lat;
}

/** Sixteen callers: one scenario at a time (they would compete otherwise), order rotated each round. */
async function measureSixteen(list: Scenario[]): Promise<Map<Scenario, { ops: number; ms: number }>> {
  const out = new Map(list.map((s) => [s, { ops: 0, ms: 0 }]));
  const drive = async (s: Scenario, perCaller: number) => {
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async (_, c) => {
        for (let n = 0; n < perCaller; n++) await s.run(s.tenants[(c + 16 * n) % s.tenants.length]!);
      }),
    );
    return performance.now() - t0;
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < list.length; i++) {
      const s = list[(i + round) % list.length]!;
      await drive(s, 5); // warm-up: open the pool's connections
      const ms = await drive(s, OPS_PER_CALLER_16);
      const cell = out.get(s)!;
      cell.ops += 16 * OPS_PER_CALLER_16;
      cell.ms += ms;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

interface Facts {
  pgVersion: string;
  bouncerVersion: string;
  loadBefore: number[];
  loadAfter: number[];
  seconds: number;
  rls: number;
  schema: number;
}

function report(list: Scenario[], lat: Map<Scenario, number[]>, sixteen: Map<Scenario, { ops: number; ms: number }> | undefined, f: Facts): string {
  const stats = new Map(
    list.map((s) => {
      const sorted = Float64Array.from(lat.get(s)!).sort();
      return [s, { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), n: sorted.length }];
    }),
  );
  const baseOf = (s: Scenario) => list.find((b) => b.baseline && b.path === s.path)!;
  const opsOf = (s: Scenario) => {
    const c = sixteen?.get(s);
    return c?.ops ? (c.ops * 1000) / c.ms : undefined;
  };
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  const lines = [
    `Node ${process.version}, PostgreSQL ${f.pgVersion}, ${f.bouncerVersion}, Prisma 7.10 + @prisma/adapter-pg; nproc ${availableParallelism()}; ` +
      `load average (1/5/15 min) before ${load(f.loadBefore)}, after ${load(f.loadAfter)}. ` +
      `${f.rls} SHARED_RLS + ${f.schema} SCHEMA tenants × ${USERS_PER_TENANT} users; ${ROUNDS} rounds × ${ITER_1} interleaved calls per scenario at 1 caller` +
      `${sixteen ? `; 16 callers: ${ROUNDS} × 16 × ${OPS_PER_CALLER_16} calls per scenario, pools of ${POOL_MAX} (PgBouncer default_pool_size 8)` : ""}.`,
    "",
    "| scenario | 1 caller p50 | p90 | p50 vs its baseline | 16 callers ops/s | ops/s vs its baseline |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const s of list) {
    const r = stats.get(s)!;
    const b = stats.get(baseOf(s))!;
    const ops = opsOf(s);
    const bops = opsOf(baseOf(s));
    lines.push(
      `| ${s.label} | ${r.p50.toFixed(3)} ms | ${r.p90.toFixed(3)} ms | ${(r.p50 / b.p50).toFixed(2)}× | ` +
        `${ops ? ops.toFixed(0) : "—"} | ${ops && bops ? `${(ops / bops).toFixed(2)}×` : "—"} |`,
    );
  }
  lines.push("", `Total run time ${f.seconds.toFixed(0)} s.`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

/** Builds every client and the bouncer; each registers its own clean-up. */
async function connect(dbName: string, scopeKey: string, cleanups: Array<() => Promise<unknown>>): Promise<Clients> {
  const superUrl = withDatabase(SERVER_ADMIN_URL, dbName);
  const appUrl = withDatabase(appUrlOf(SERVER_ADMIN_URL), dbName);
  const ownerUrl = withDatabase(ownerUrlOf(SERVER_ADMIN_URL), dbName);
  const scoped = stratumClient(appUrl, ownerUrl, scopeKey, POOL_MAX);
  const single = stratumClient(appUrl, ownerUrl, scopeKey, 1);
  const superPlain = plainClient(superUrl);
  cleanups.push(scoped.close, single.close, superPlain.close);
  const clients: Clients = { superPlain: superPlain.client, scoped: scoped.prisma, single: single.prisma };
  if (!PGBOUNCER) return clients;
  const target = new URL(SERVER_ADMIN_URL);
  const bouncer = await startPgBouncer({ host: target.hostname, port: Number(target.port || 5432) });
  cleanups.push(() => bouncer.stop());
  log(`PgBouncer (transaction mode) on 127.0.0.1:${bouncer.port}`);
  const pooled = stratumClient(`${bouncer.through(appUrl)}?pgbouncer=true`, ownerUrl, scopeKey, POOL_MAX);
  const bouncerPlain = plainClient(bouncer.through(superUrl));
  cleanups.push(pooled.close, bouncerPlain.close);
  return { ...clients, bouncerPlain: bouncerPlain.client, bouncerScoped: pooled.prisma };
}

async function createDatabase(dbName: string, scopeKey: string, cleanups: Array<() => Promise<unknown>>): Promise<void> {
  await ensureRoles(SERVER_ADMIN_URL);
  await withClient(SERVER_ADMIN_URL, (c) => c.query(`CREATE DATABASE ${dbName} OWNER ${OWNER_ROLE}`));
  cleanups.push(() => withClient(SERVER_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)));
  await withClient(withDatabase(ownerUrlOf(SERVER_ADMIN_URL), dbName), async (c) => {
    const result = await applyMigrations(pgExecutor(c), { migrationsDir: MIGRATIONS_DIR });
    log(`${dbName}: applied ${result.applied.length} migrations`);
    await c.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
  });
}

function bouncerVersion(): string {
  try {
    const out = execFileSync("pgbouncer", ["--version"], { encoding: "utf8", env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` } });
    return out.split("\n")[0]!.trim();
  } catch {
    return "PgBouncer (version unknown)";
  }
}

async function run(cleanups: Array<() => Promise<unknown>>): Promise<void> {
  const started = performance.now();
  const loadBefore = loadavg();
  const dbName = `bench_session_${randomHex(6)}`;
  const scopeKey = randomHex(32);
  await createDatabase(dbName, scopeKey, cleanups);
  const clients = await connect(dbName, scopeKey, cleanups);
  const tag = randomHex(3);
  const t0 = performance.now();
  const rls = await seedTenants(clients.scoped, "SHARED_RLS", RLS_TENANTS, tag);
  const schema = await seedTenants(clients.scoped, "SCHEMA", SCHEMA_TENANTS, tag);
  await withClient(withDatabase(SERVER_ADMIN_URL, dbName), (c) => c.query("ANALYZE public.users"));
  log(`seeded ${rls.length + schema.length} tenants × ${USERS_PER_TENANT} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const list = scenarios(clients, rls, schema);
  await verify(list);
  log("every scenario returns its tenant's 20 rows");
  const lat = await measureOneCaller(list, seededRandom(0x5e55));
  const sixteen = OPS_PER_CALLER_16 > 0 ? await measureSixteen(list.filter((s) => s.concurrent)) : undefined;
  const pgVersion = await withClient(SERVER_ADMIN_URL, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v);
  const facts: Facts = {
    pgVersion,
    bouncerVersion: PGBOUNCER ? bouncerVersion() : "no PgBouncer",
    loadBefore,
    loadAfter: loadavg(),
    seconds: (performance.now() - started) / 1000,
    rls: rls.length,
    schema: schema.length,
  };
  console.log(report(list, lat, sixteen, facts));
}

async function main(): Promise<void> {
  const { cleanups, cleanup } = cleanupOnExit(log);
  try {
    await run(cleanups);
  } finally {
    await cleanup();
  }
}

await main();
