/**
 * One SHARED_RLS tenant owning 300 users, in a `users` table of 1,000,000 rows across 1,000
 * tenants and in one of 10,000 rows: four query shapes, scoped (`$tenant(id)`, RLS) and unscoped
 * (superuser, the same query with an explicit `where: { tenant_id }`), the three paths
 * interleaved call by call in one run.
 */
import { performance } from "node:perf_hooks";
import { printPlan } from "./explain.js";
import { assertAllVisible, type Cleanups, type Clients, clients, type Db, env, log, p50, p99, scratchDb, withClient } from "./setup.js";

export const BIG_ROWS = env("BENCH_ROWS", 1_000_000);
const SMALL_ROWS = 10_000;
export const TENANTS = env("BENCH_VOLUME_TENANTS", 1_000);
const OWN_ROWS = 300;
const ITERATIONS = env("BENCH_ITERATIONS", 600);

/** `TENANTS` tenants (ids md5('vol<n>')), `rows` users; tenant 1 owns `OWN_ROWS` of them, spread over the heap. */
async function load(db: Db, rows: number): Promise<{ tenantId: string; userIds: string[] }> {
  const t0 = performance.now();
  const every = Math.floor(rows / OWN_ROWS);
  await withClient(db.superUrl, async (c) => {
    // Committed synchronously: VACUUM cannot mark a page all-visible while the commit that wrote
    // its rows is not yet flushed, and without the visibility map `count()` cannot answer from the
    // index alone (a load with synchronous_commit off left it empty: the 1M-row count read 300
    // heap pages where a table that autovacuum keeps reads 9 index pages).
    await c.query("SET maintenance_work_mem = '256MB'");
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
    await assertAllVisible(c, "users");
  });
  const own = await withClient(db.superUrl, (c) =>
    c.query<{ id: string; tenant_id: string }>("SELECT id, tenant_id FROM users WHERE tenant_id = md5('vol1')::uuid"),
  );
  log(`${db.name}: ${rows} rows, ${TENANTS} tenants, ${own.rows.length} of the scoped tenant's (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return { tenantId: own.rows[0]!.tenant_id, userIds: own.rows.map((r) => r.id) };
}

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

export interface TenantVolume {
  lines: string[];
  /** The million-row database and its clients, for the subtree scenario that follows. */
  big: Db;
  bigClients: Clients;
}

export async function tenantVolume(scopeKey: string, cleanups: Cleanups): Promise<TenantVolume> {
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
    // The unscoped query at both sizes: what the table's growth costs a query the scope does not touch.
    path("unscoped small", cs, false, smallData),
  ];
  for (const shape of SHAPES) {
    const a = JSON.stringify(await paths[0]!.run(shape, 1));
    const b = JSON.stringify(await paths[1]!.run(shape, 1));
    if (a !== b) throw new Error(`${shape}: scoped and unscoped answers differ`);
  }
  const page = `SELECT "id", "tenant_id", "email", "name" FROM "public"."users" WHERE 1=1 ORDER BY "id" ASC LIMIT 20 OFFSET 0`;
  await printPlan(`one tenant, ${BIG_ROWS} rows: 20-row page`, big, bigData.tenantId, "s", page);
  await printPlan(
    `one tenant, ${BIG_ROWS} rows: count`,
    big,
    bigData.tenantId,
    "s",
    `SELECT COUNT(*) FROM (SELECT "users"."id" FROM "public"."users" WHERE 1=1 OFFSET 0) AS "sub"`,
  );
  const s = await measure(paths);
  const at = (label: string, shape: Shape) => p50(s.get(`${label}|${shape}`)!);
  const lines = [
    `| query (one tenant, ${OWN_ROWS} rows of its own) | scoped, ${BIG_ROWS.toLocaleString("en")} rows p50 | p99 | unscoped \`where: { tenant_id }\`, same table | scoped, ${SMALL_ROWS.toLocaleString("en")} rows | unscoped, ${SMALL_ROWS.toLocaleString("en")} rows | scoped ÷ unscoped (big table) | scoped big ÷ scoped small | unscoped big ÷ unscoped small |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const shape of SHAPES) {
    const sb = at("scoped big", shape);
    lines.push(
      `| \`${shape}\` | ${sb.toFixed(3)} ms | ${p99(s.get(`scoped big|${shape}`)!).toFixed(3)} ms | ${at("unscoped big", shape).toFixed(3)} ms | ${at("scoped small", shape).toFixed(3)} ms | ` +
        `${at("unscoped small", shape).toFixed(3)} ms | ${(sb / at("unscoped big", shape)).toFixed(2)}× | ${(sb / at("scoped small", shape)).toFixed(2)}× | ` +
        `${(at("unscoped big", shape) / at("unscoped small", shape)).toFixed(2)}× |`,
    );
  }
  return { lines, big, bigClients: cb };
}
