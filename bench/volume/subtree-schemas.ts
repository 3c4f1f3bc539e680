/**
 * The descendants view over SCHEMA clients: an MSP in the shared tables, four resellers under it,
 * `HOMES` clients in schemas of their own under them (two tickets each), read 50 homes a
 * statement (descendants statements run with generic plans, set by the scope prelude, on the
 * adapter's subtree connections: planned once on each of them — docs/isolation.md). Measured in
 * one run:
 *
 * - as shipped, the app role through `$tenant(msp, { descendants: true })`: the first call on
 *   fresh connections, 40 concurrent counts (wall time, errors), then sequential
 *   `count()` and 20-row pages, and `count()` of one reseller (a quarter of the homes), to see
 *   how the cost grows with the subtree; the same with `subtreeConnections: 0` (the reads spread
 *   over the main pool's 16 connections, each planning them: the release before);
 * - the floor: the same batched statements as the superuser on the tables themselves (no view, no
 *   policy) — what visiting that many relations costs at all.
 */
import { performance } from "node:perf_hooks";
import { DEFAULT_HOME_BATCH } from "../../src/isolation/descendants.js";
import { type Cleanups, type Clients, clients, concurrent, type Db, env, log, p50, POOL_MAX, scratchDb, timeCalls, withClient } from "./setup.js";

const HOMES = env("BENCH_HOMES", 1_000);
const SAMPLES = env("BENCH_SUBTREE_SAMPLES", 15);
const RESELLERS = 4;

interface Tree {
  msp: string;
  reseller: string;
  homes: string[];
}

/** The tree, through the public API (each client is a CREATE SCHEMA with tables, policies, views). */
async function build(c: Clients): Promise<Tree> {
  const t0 = performance.now();
  const msp = await c.prisma.$stratum.createTenant({ name: "Volume MSP" });
  const resellers: string[] = [];
  for (let r = 0; r < RESELLERS; r++) resellers.push((await c.prisma.$stratum.createTenant({ name: `Volume Reseller ${r}`, parent_id: msp.id })).id);
  const homes: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < HOMES; i = next++) {
      const t = await c.prisma.$stratum.createTenant({ name: `Volume Client ${i}`, parent_id: resellers[i % RESELLERS]!, isolation_strategy: "SCHEMA" });
      homes.push(t.placement!);
      const u = await c.prisma.$tenant(t.id).user.create({ data: { tenant_id: t.id, email: `owner@${t.slug}.test` } });
      await c.prisma.$tenant(t.id).ticket.createMany({ data: [0, 1].map((k) => ({ tenant_id: t.id, author_id: u.id, title: `ticket ${k} of ${i}` })) });
      if (i % 100 === 99) log(`${i + 1} SCHEMA clients (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { msp: msp.id, reseller: resellers[0]!, homes: homes.sort() };
}

interface Way {
  first: number;
  c40: Awaited<ReturnType<typeof concurrent>>;
  count: number;
  page: number;
  quarter: number;
}

async function measureWay(db: Db, scopeKey: string, tree: Tree, cleanups: Cleanups, subtreeConnections?: number): Promise<Way> {
  const c = clients(db, scopeKey, subtreeConnections === undefined ? {} : { subtreeConnections });
  cleanups.push(c.close);
  const view = (id: string) => c.prisma.$tenant(id, { descendants: true }).ticket;
  const [first] = await timeCalls(async () => {
    if ((await view(tree.msp).count()) !== 2 * HOMES) throw new Error("descendants count is wrong");
  }, 1);
  const c40 = await concurrent(40, () => view(tree.msp).count());
  log(`40 concurrent: ${(c40.ms / 1000).toFixed(1)} s, ${c40.failed} errors`);
  const count = p50(await timeCalls(() => view(tree.msp).count(), SAMPLES));
  const page = p50(await timeCalls(() => view(tree.msp).findMany({ take: 20, orderBy: { id: "asc" } }), SAMPLES));
  const quarter = p50(await timeCalls(() => view(tree.reseller).count(), SAMPLES));
  await c.close();
  return { first: first!, c40, count, page, quarter };
}

/** The batched count on the tables themselves, as the superuser: the cost of visiting the relations. */
async function floor(db: Db, homes: readonly string[]): Promise<number> {
  return withClient(db.superUrl, async (c) => {
    const statements: string[] = [];
    for (let i = 0; i < homes.length; i += DEFAULT_HOME_BATCH) {
      const arms = homes.slice(i, i + DEFAULT_HOME_BATCH).map((h) => `SELECT "id" FROM "${h}"."tickets"`);
      statements.push(`SELECT COUNT(*) AS n FROM (SELECT "tickets"."id" FROM (${arms.join(" UNION ALL ")}) AS "tickets" WHERE 1=1 OFFSET $1) AS "sub"`);
    }
    const once = async () => {
      let n = 0;
      for (const [k, text] of statements.entries()) n += Number((await c.query<{ n: string }>({ name: `floor${k}`, text, values: [0] })).rows[0]!.n);
      if (n !== 2 * homes.length) throw new Error("floor count is wrong");
    };
    await timeCalls(once, 7); // past the five custom plans
    return p50(await timeCalls(once, SAMPLES));
  });
}

export async function schemaSubtree(scopeKey: string, cleanups: Cleanups): Promise<string[]> {
  const db = await scratchDb("msp", scopeKey, cleanups);
  const setup = clients(db, scopeKey);
  cleanups.push(setup.close);
  const tree = await build(setup);
  await setup.close();
  // The pool's every connection first (the order favours whichever runs second, if anything).
  const everyConnection = await measureWay(db, scopeKey, tree, cleanups, 0);
  const shipped = await measureWay(db, scopeKey, tree, cleanups);
  const floorMs = await floor(db, tree.homes);
  const row = (label: string, w: Way) =>
    `| ${label} | ${(w.first / 1000).toFixed(1)} s | ${(w.c40.ms / 1000).toFixed(1)} s, ${w.c40.failed} errors${w.c40.first ? ` (${w.c40.first})` : ""} | ` +
    `${w.count.toFixed(0)} ms | ${w.page.toFixed(0)} ms | ${w.quarter.toFixed(0)} ms (${(w.count / w.quarter).toFixed(1)}×) |`;
  return [
    `| ${HOMES.toLocaleString("en")} SCHEMA clients, ${DEFAULT_HOME_BATCH} homes a statement | first call, fresh pool | 40 concurrent counts (main pool ${POOL_MAX}) | then \`count()\` p50 | \`findMany({ take: 20, orderBy: { id } })\` p50 | \`count()\` of ${HOMES / RESELLERS} homes p50 (${HOMES} ÷ ${HOMES / RESELLERS}) |`,
    "|---|---:|---|---:|---:|---:|",
    row("as shipped: 2 subtree connections", shipped),
    row("`subtreeConnections: 0`: every connection of the main pool", everyConnection),
    `| floor: the same statements on the tables, superuser, warm | | | ${floorMs.toFixed(0)} ms | | |`,
  ];
}
