/**
 * bench:volume — does a tenant's query cost depend on other tenants' rows? One SHARED_RLS tenant
 * owning 300 users, in a `users` table of 1,000,000 rows across 1,000 tenants and in one of
 * 10,000 rows: four query shapes, scoped (`$tenant(id)`, RLS) and unscoped (superuser, the same
 * query with an explicit `where: { tenant_id }`), all eight paths interleaved call by call in one
 * run. Then the descendants view of an MSP over BENCH_HOMES SCHEMA clients (default 1,000): count
 * and a 20-row page, and 40 concurrent counts.
 *
 *   npm run bench:volume                   # about 3–5 minutes on 2 cores
 *   BENCH_ROWS=200000 BENCH_HOMES=200 …    # smaller
 *   BENCH_HOMES=0 …                        # skip the descendants part
 *
 * Set-up as the owner/superuser, fast: tenants and rows by INSERT … SELECT generate_series (the
 * tenant trigger signs their tokens); SCHEMA clients through `$stratum.createTenant`. The scratch
 * databases are dropped at the end, also on failure.
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../../src/index.js";
import { DEFAULT_HOME_BATCH, setHomeBatchSize } from "../../src/isolation/descendants.js";
import { INSTALL_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { applyMigrations, pgExecutor } from "../../src/migrate/runner.js";
import { withDatabase } from "../../test/harness/postgres.js";
import { appUrlOf, ensureRoles, OWNER_ROLE, ownerUrlOf } from "../../test/harness/roles.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ADMIN_URL = withDatabase(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres", "postgres");
const BIG_ROWS = env("BENCH_ROWS", 1_000_000);
const SMALL_ROWS = 10_000;
const TENANTS = env("BENCH_VOLUME_TENANTS", 1_000);
const OWN_ROWS = 300;
const ITERATIONS = env("BENCH_ITERATIONS", 600);
const HOMES = env("BENCH_HOMES", 1_000);
const POOL_MAX = 16;
const log = (line: string) => console.error(`[bench] ${line}`);

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

interface Db {
  name: string;
  superUrl: string;
  ownerUrl: string;
  appUrl: string;
}

/** A migrated scratch database with the scope key installed. */
async function scratchDb(label: string, scopeKey: string, cleanups: Array<() => Promise<unknown>>): Promise<Db> {
  const name = `bench_vol_${label}_${randomBytes(4).toString("hex")}`;
  await withClient(ADMIN_URL, (c) => c.query(`CREATE DATABASE ${name} OWNER ${OWNER_ROLE}`));
  cleanups.push(() => withClient(ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  const db = { name, superUrl: withDatabase(ADMIN_URL, name), ownerUrl: withDatabase(ownerUrlOf(ADMIN_URL), name), appUrl: withDatabase(appUrlOf(ADMIN_URL), name) };
  await withClient(db.ownerUrl, async (c) => {
    await applyMigrations(pgExecutor(c), { migrationsDir: join(ROOT, "prisma", "migrations") });
    await c.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
  });
  return db;
}

/** `tenants` tenants (ids md5('vol<n>')), `rows` users; tenant 1 owns `rows / k` of them, spread over the heap. */
async function load(db: Db, rows: number): Promise<{ tenantId: string; userIds: string[] }> {
  const t0 = performance.now();
  const every = Math.floor(rows / OWN_ROWS);
  await withClient(db.superUrl, async (c) => {
    await c.query("SET synchronous_commit = off; SET maintenance_work_mem = '256MB'");
    await c.query(
      `INSERT INTO stratum_tenants (id, slug, name, updated_at) SELECT md5('vol' || g)::uuid, 'vol_' || g, 'Volume ' || g, now() FROM generate_series(1, $1::int) g`,
      [TENANTS],
    );
    await c.query(
      `INSERT INTO users (id, tenant_id, email, name)
       SELECT gen_random_uuid(), CASE WHEN g % $2::int = 0 THEN md5('vol1')::uuid ELSE md5('vol' || (2 + g % ($3::int - 1)))::uuid END,
              'u' || g || '@vol.test', 'User ' || g
         FROM generate_series(1, $1::int) g`,
      [rows, every, TENANTS],
    );
    await c.query("VACUUM ANALYZE users");
  });
  const own = await withClient(db.superUrl, (c) => c.query<{ id: string; tenant_id: string }>("SELECT id, tenant_id FROM users WHERE tenant_id = md5('vol1')::uuid"));
  log(`${db.name}: ${rows} rows, ${TENANTS} tenants, ${own.rows.length} of the scoped tenant's (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return { tenantId: own.rows[0]!.tenant_id, userIds: own.rows.map((r) => r.id) };
}

function clients(db: Db, scopeKey: string) {
  const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl, pool: { max: POOL_MAX } }) });
  const prisma = base.$extends(stratum({ models: stratumModels, scopeKey, admin: { connectionString: db.ownerUrl } }));
  const plain = new PrismaClient({ adapter: new PrismaPg(new pg.Pool({ connectionString: db.superUrl, max: POOL_MAX })) });
  return { prisma, plain, close: () => Promise.all([base.$disconnect(), plain.$disconnect()]) };
}
type Clients = ReturnType<typeof clients>;

const SHAPES = ["findMany take 20 orderBy id", "findMany filtered, take 20", "count", "findUnique by id"] as const;
type Shape = (typeof SHAPES)[number];

/** One call of `shape`, scoped or unscoped with the tenant named in `where`. */
function call(c: Clients, scoped: boolean, shape: Shape, tenantId: string, userId: string): Promise<unknown> {
  const u = scoped ? c.prisma.$tenant(tenantId).user : c.plain.user;
  const own = scoped ? {} : { tenant_id: tenantId };
  switch (shape) {
    case "findMany take 20 orderBy id":
      return u.findMany({ where: own, take: 20, orderBy: { id: "asc" } });
    case "findMany filtered, take 20":
      return u.findMany({ where: { ...own, email: { startsWith: "u1" } }, take: 20, orderBy: { id: "asc" } });
    case "count":
      return u.count({ where: own });
    case "findUnique by id":
      return scoped ? u.findUnique({ where: { id: userId } }) : c.plain.user.findFirst({ where: { id: userId, tenant_id: tenantId } });
  }
}

interface Path {
  label: string;
  run: (shape: Shape, n: number) => Promise<unknown>;
}

async function measure(paths: Path[]): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>();
  for (const shape of SHAPES) {
    for (const p of paths) for (let n = 0; n < 100; n++) await p.run(shape, n); // warm-up: plans, pools, caches
    for (let n = 0; n < ITERATIONS; n++) {
      // A rotating order: whatever the machine does meanwhile falls on every path alike.
      for (let i = 0; i < paths.length; i++) {
        const p = paths[(i + n) % paths.length]!;
        const t0 = performance.now();
        await p.run(shape, n);
        const key = `${p.label}|${shape}`;
        (samples.get(key) ?? samples.set(key, []).get(key)!).push(performance.now() - t0);
      }
    }
  }
  return samples;
}

async function tenantVolume(scopeKey: string, cleanups: Array<() => Promise<unknown>>): Promise<string[]> {
  const big = await scratchDb("big", scopeKey, cleanups);
  const small = await scratchDb("small", scopeKey, cleanups);
  const bigData = await load(big, BIG_ROWS);
  const smallData = await load(small, SMALL_ROWS);
  const cb = clients(big, scopeKey);
  const cs = clients(small, scopeKey);
  cleanups.push(cb.close, cs.close);
  const path = (label: string, c: Clients, scoped: boolean, d: typeof bigData): Path => ({
    label,
    run: (shape, n) => call(c, scoped, shape, d.tenantId, d.userIds[n % d.userIds.length]!),
  });
  const paths = [
    path("scoped big", cb, true, bigData),
    path("unscoped big", cb, false, bigData),
    path("scoped small", cs, true, smallData),
  ];
  for (const shape of SHAPES) {
    const a = JSON.stringify(await paths[0]!.run(shape, 1));
    const b = JSON.stringify(await paths[1]!.run(shape, 1));
    if (a !== b) throw new Error(`${shape}: scoped and unscoped answers differ`);
  }
  const s = await measure(paths);
  const at = (label: string, shape: Shape) => p50(s.get(`${label}|${shape}`)!);
  const lines = [
    `| query (one tenant, ${OWN_ROWS} rows of its own) | scoped, ${BIG_ROWS.toLocaleString("en")} rows p50 | p99 | unscoped \`where: { tenant_id }\`, same table | scoped, ${SMALL_ROWS.toLocaleString("en")} rows | scoped ÷ unscoped (big table) | scoped big ÷ scoped small |`,
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const shape of SHAPES) {
    const sb = at("scoped big", shape);
    lines.push(
      `| \`${shape}\` | ${sb.toFixed(3)} ms | ${p99(s.get(`scoped big|${shape}`)!).toFixed(3)} ms | ${at("unscoped big", shape).toFixed(3)} ms | ${at("scoped small", shape).toFixed(3)} ms | ` +
        `${(sb / at("unscoped big", shape)).toFixed(2)}× | ${(sb / at("scoped small", shape)).toFixed(2)}× |`,
    );
  }
  return lines;
}

/** An MSP in the shared tables with `HOMES` clients in schemas of their own, two tickets each. */
async function descendants(scopeKey: string, cleanups: Array<() => Promise<unknown>>): Promise<string[]> {
  const db = await scratchDb("msp", scopeKey, cleanups);
  const c = clients(db, scopeKey);
  cleanups.push(c.close);
  const t0 = performance.now();
  const msp = await c.prisma.$stratum.createTenant({ name: "Volume MSP" });
  let next = 0;
  // Four at a time: each client is a CREATE SCHEMA with its tables, policies and views.
  const worker = async () => {
    for (let i = next++; i < HOMES; i = next++) {
      const t = await c.prisma.$stratum.createTenant({ name: `Volume Client ${i}`, parent_id: msp.id, isolation_strategy: "SCHEMA" });
      const u = await c.prisma.$tenant(t.id).user.create({ data: { tenant_id: t.id, email: `owner@${t.slug}.test` } });
      await c.prisma.$tenant(t.id).ticket.createMany({ data: [0, 1].map((k) => ({ tenant_id: t.id, author_id: u.id, title: `ticket ${k} of ${i}` })) });
      if (i % 100 === 99) log(`${i + 1} SCHEMA clients (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const view = () => c.prisma.$tenant(msp.id, { descendants: true });
  const time = async (fn: () => Promise<unknown>, n: number) => {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await fn();
      xs.push(performance.now() - t);
    }
    return p50(xs);
  };
  if ((await view().ticket.count()) !== 2 * HOMES) throw new Error("descendants count is wrong");
  await time(() => view().ticket.findMany({ take: 20, orderBy: { id: "asc" } }), 3);
  const count = await time(() => view().ticket.count(), 15);
  const page = await time(() => view().ticket.findMany({ take: 20, orderBy: { id: "asc" } }), 15);
  const concurrent = async (n: number) => {
    const t = performance.now();
    const results = await Promise.allSettled(Array.from({ length: n }, () => view().ticket.count()));
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    return { ms: performance.now() - t, failed: failed.length, first: failed[0] ? String((failed[0].reason as Error).message).split("\n").pop() : "" };
  };
  const c40 = await concurrent(40);
  return [
    `| SCHEMA clients | homes per statement | view \`count()\` p50 | view \`findMany({ take: 20, orderBy: { id } })\` p50 | 40 concurrent counts (pool ${POOL_MAX}) |`,
    "|---:|---:|---:|---:|---|",
    `| ${HOMES} | ${DEFAULT_HOME_BATCH} | ${count.toFixed(1)} ms | ${page.toFixed(1)} ms | ${(c40.ms / 1000).toFixed(1)} s, ${c40.failed} errors${c40.first ? ` (${c40.first})` : ""} |`,
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const scopeKey = randomBytes(32).toString("hex");
  const cleanups: Array<() => Promise<unknown>> = [];
  const load0 = loadavg();
  try {
    await ensureRoles(ADMIN_URL);
    setHomeBatchSize(DEFAULT_HOME_BATCH);
    const volume = await tenantVolume(scopeKey, cleanups);
    // Printed now too: the descendants part takes longest, and an interrupted run keeps these.
    log(`\n${volume.join("\n")}`);
    const view = HOMES > 0 ? await descendants(scopeKey, cleanups) : [];
    const version = await withClient(ADMIN_URL, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v);
    const load1 = loadavg();
    console.log(
      [
        `Node ${process.version}, PostgreSQL ${version}, ${cpus().length} cores (nproc), load average ${load0.map((x) => x.toFixed(2)).join(" ")} at start, ` +
          `${load1.map((x) => x.toFixed(2)).join(" ")} at end; ${ITERATIONS} calls per cell, paths interleaved call by call.`,
        "",
        ...volume,
        "",
        ...view,
        "",
        `Total run time ${((performance.now() - started) / 1000).toFixed(0)} s.`,
      ].join("\n"),
    );
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
  }
}

await main();
