/**
 * The descendants view over SHARED_RLS children: does it cost the subtree's rows or the table's?
 * An MSP with `CHILDREN` SHARED_RLS clients, three users each, loaded into the million-row
 * database (1,000,000 rows of other tenants) and into an empty one; the view's `count()` and a
 * 20-row page, the two databases interleaved call by call.
 */
import { printPlan } from "./explain.js";
import { BIG_ROWS } from "./tenant-shapes.js";
import { assertAllVisible, type Cleanups, type Clients, clients, type Db, env, log, p50, scratchDb, withClient } from "./setup.js";

const CHILDREN = env("BENCH_SHARED_CHILDREN", 1_000);
const PER_CHILD = 3;
const ITERATIONS = env("BENCH_SUBTREE_ITERATIONS", 200);

/** The MSP (md5('msp')) and its clients, inserted as the superuser (the path trigger and the token trigger run). */
async function loadSubtree(db: Db): Promise<string> {
  await withClient(db.superUrl, async (c) => {
    await c.query("INSERT INTO stratum_tenants (id, slug, name, updated_at) VALUES (md5('msp')::uuid, 'vol_msp', 'Volume MSP', now())");
    await c.query(
      `INSERT INTO stratum_tenants (id, parent_id, slug, name, updated_at)
       SELECT md5('mspc' || g)::uuid, md5('msp')::uuid, 'vol_mspc_' || g, 'MSP client ' || g, now() FROM generate_series(1, $1::int) g`,
      [CHILDREN],
    );
    await c.query(
      `INSERT INTO users (id, tenant_id, email, name)
       SELECT md5('mspu' || g)::uuid, md5('mspc' || (1 + g % $1::int))::uuid, 'c' || g || '@msp.test', 'Client ' || g FROM generate_series(1, $2::int) g`,
      [CHILDREN, CHILDREN * PER_CHILD],
    );
    await c.query("VACUUM ANALYZE users");
    await assertAllVisible(c, "users");
  });
  return (await withClient(db.superUrl, (c) => c.query<{ id: string }>("SELECT md5('msp')::uuid::text AS id"))).rows[0]!.id;
}

export async function sharedSubtree(scopeKey: string, cleanups: Cleanups, big: Db, bigClients: Clients): Promise<string[]> {
  const empty = await scratchDb("subtree", scopeKey, cleanups);
  const msp = await loadSubtree(big);
  await loadSubtree(empty);
  const ce = clients(empty, scopeKey);
  cleanups.push(ce.close);
  const page = `SELECT "users"."id", "users"."tenant_id", "users"."email", "users"."name" FROM "public"."stratum_d_users" AS "users" WHERE 1=1 ORDER BY "users"."id" ASC LIMIT 20 OFFSET 0`;
  await printPlan("descendants view, SHARED_RLS clients, 1M rows of others: 20-row page", big, msp, "d", page);
  await printPlan(
    "descendants view, SHARED_RLS clients, 1M rows of others: count",
    big,
    msp,
    "d",
    `SELECT COUNT(*) FROM (SELECT "users"."id" FROM "public"."stratum_d_users" AS "users" WHERE 1=1 OFFSET 0) AS "sub"`,
  );
  const view = (c: Clients) => c.prisma.$tenant(msp, { descendants: true }).user;
  const shapes = {
    "count()": (c: Clients) => view(c).count(),
    "findMany({ take: 20, orderBy: { id } })": (c: Clients) => view(c).findMany({ take: 20, orderBy: { id: "asc" } }),
  };
  const lines = [
    `| descendants view, ${CHILDREN.toLocaleString("en")} SHARED_RLS clients (${(CHILDREN * PER_CHILD).toLocaleString("en")} rows) | with ${BIG_ROWS.toLocaleString("en")} rows of other tenants p50 | with none p50 | ratio |`,
    "|---|---:|---:|---:|",
  ];
  for (const [label, fn] of Object.entries(shapes)) {
    if (JSON.stringify(await fn(bigClients)) !== JSON.stringify(await fn(ce))) throw new Error(`${label}: the two databases answer differently`);
    const xs: Record<"big" | "none", number[]> = { big: [], none: [] };
    for (let n = 0; n < ITERATIONS + 20; n++) {
      for (const key of n % 2 ? (["big", "none"] as const) : (["none", "big"] as const)) {
        const t = performance.now();
        await fn(key === "big" ? bigClients : ce);
        if (n >= 20) xs[key].push(performance.now() - t);
      }
    }
    lines.push(`| \`${label}\` | ${p50(xs.big).toFixed(2)} ms | ${p50(xs.none).toFixed(2)} ms | ${(p50(xs.big) / p50(xs.none)).toFixed(2)}× |`);
    log(lines.at(-1)!);
  }
  return lines;
}
