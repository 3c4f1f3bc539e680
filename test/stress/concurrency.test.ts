/**
 * 10,000 scoped operations interleaved across 50 tenants of all three strategies (30 SHARED_RLS,
 * 15 SCHEMA, 5 DATABASE on the second PostgreSQL), on a pool of 10 and on a pool of 1: every
 * returned row carries the caller's tenant, and every count is the caller's own. The two pools run
 * at the same time (also keeps the file within about a minute on two cores).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IsolationStrategyName } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { startPgBouncer } from "../harness/pgbouncer.js";
import { attackClient, foreignTenantIds, secondServer, seed, uniq, type AttackClient, type Seeded, type ServerUrls } from "../attacks/support.js";

const OPERATIONS = 10_000;
const WORKERS = 40;

let db: TestDatabase;
let setup: AttackClient;
let second: ServerUrls;
const tenants: Seeded[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ label: "atk_concurrency" });
  second = await secondServer();
  setup = attackClient(db, { poolSize: 4, servers: { second } });
  const p = setup.prisma;
  const plan: Array<[IsolationStrategyName, number]> = [
    ["SHARED_RLS", 30],
    ["SCHEMA", 15],
    ["DATABASE", 5],
  ];
  const created = await Promise.all(
    plan.flatMap(([strategy, n]) =>
      Array.from({ length: n }, async () => {
        const tenant = await p.$stratum.createTenant({
          name: `c ${strategy.toLowerCase()} ${uniq()}`,
          isolation_strategy: strategy,
          ...(strategy === "DATABASE" ? { server: "second" } : {}),
        });
        return seed(p, tenant, strategy);
      }),
    ),
  );
  tenants.push(...created);
}, 180_000);

afterAll(async () => {
  for (const s of tenants.filter((t) => t.strategy === "DATABASE"))
    await setup.prisma.$stratum.deleteTenant(s.tenant.id, { cascade: true }).catch(() => undefined);
  await setup?.close();
  await db?.drop();
});

/** One scoped operation of a rotating shape; returns [rows to check, expected count or -1]. */
async function operation(client: AttackClient, s: Seeded, i: number): Promise<[unknown, number]> {
  const t = client.prisma.$tenant(s.tenant.id);
  switch (i % 10) {
    case 0:
      return [await t.user.findMany(), s.users.length];
    case 1:
      return [[await t.user.findUnique({ where: { id: s.users[i % s.users.length]!.id } })], 1];
    case 2:
      return [await t.ticket.findMany({ include: { author: true } }), s.tickets.length];
    case 3:
      return [[{ tenant_id: s.tenant.id, n: await t.ticket.count() }], -1];
    case 4:
      return [
        await t.$queryRaw<Array<{ tenant_id: string }>>`SELECT tenant_id::text FROM users UNION ALL SELECT tenant_id::text FROM tickets`,
        s.users.length + s.tickets.length,
      ];
    case 5:
      return [await t.user.findMany({ where: { email: "shared@same.test" }, include: { tickets: true } }), 1];
    case 6:
      return [await t.$transaction([t.user.findMany(), t.ticket.findMany()]).then((r) => r.flat()), s.users.length + s.tickets.length];
    case 7:
      return [await t.user.groupBy({ by: ["tenant_id"], _count: { _all: true } }), 1];
    case 8:
      return [await t.user.findUnique({ where: { id: s.users[0]!.id } }).tickets(), -1];
    default:
      if (i % 50 === 9) {
        const rows = await t.$transaction(async (tx) => [...(await tx.user.findMany()), ...(await tx.ticket.findMany())], { maxWait: 20_000, timeout: 20_000 });
        return [rows, s.users.length + s.tickets.length];
      }
      return [await t.user.updateManyAndReturn({ where: { email: "shared@same.test" }, data: { name: s.users[1]!.name } }), 1];
  }
}

async function hammer(client: AttackClient): Promise<{ checked: number; rows: number }> {
  let next = 0;
  let rows = 0;
  const problems: string[] = [];
  // Tenants interleave: consecutive operations belong to different tenants and strategies.
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= OPERATIONS) return;
      const s = tenants[(i * 7) % tenants.length]!;
      const [result, expected] = await operation(client, s, i);
      const list = (Array.isArray(result) ? result : [result]) as unknown[];
      const foreign = foreignTenantIds(list, s.tenant.id);
      if (foreign.length) problems.push(`op ${i} (${s.strategy} ${s.tenant.slug}, shape ${i % 10}): foreign tenant ids ${foreign.join(", ")}`);
      if (list.some((r) => r === null || r === undefined)) problems.push(`op ${i} (${s.strategy}, shape ${i % 10}): missing own row`);
      if (expected >= 0 && list.length !== expected) problems.push(`op ${i} (${s.strategy}, shape ${i % 10}): ${list.length} rows, expected ${expected}`);
      const count = (list[0] as { n?: number } | undefined)?.n;
      if (i % 10 === 3 && count !== s.tickets.length) problems.push(`op ${i} (${s.strategy}): count ${count}, expected ${s.tickets.length}`);
      rows += list.length;
      if (problems.length > 20) throw new Error(problems.join("\n"));
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  expect(problems).toEqual([]);
  return { checked: next, rows };
}

describe("interleaved scoped operations", () => {
  it(`${OPERATIONS} on a pool of 10 and ${OPERATIONS} on a pool of 1, at the same time, across 50 tenants: every row is the caller's`, async () => {
    expect(tenants.map((t) => t.strategy).sort()).toEqual([...Array(5).fill("DATABASE"), ...Array(15).fill("SCHEMA"), ...Array(30).fill("SHARED_RLS")]);
    // Room for every DATABASE tenant: eviction under load is database.test.ts's subject.
    // And a third through PgBouncer in transaction mode, in stratum's pooler mode.
    const target = new URL(db.adminUrl);
    const bouncer = await startPgBouncer({ host: target.hostname, port: Number(target.port || 5432) });
    const pooledUrl = `${bouncer.through(db.appUrl)}${db.appUrl.includes("?") ? "&" : "?"}pgbouncer=true`;
    const pools = [
      { name: "pool of 10", poolSize: 10, client: attackClient(db, { poolSize: 10, tenantPoolSize: 4, maxPools: 5, servers: { second } }) },
      { name: "pool of 1", poolSize: 1, client: attackClient(db, { poolSize: 1, tenantPoolSize: 1, maxPools: 5, servers: { second } }) },
      {
        name: "pool of 10 through PgBouncer",
        poolSize: 10,
        client: attackClient(db, { appUrl: pooledUrl, poolSize: 10, tenantPoolSize: 4, maxPools: 5, servers: { second } }),
      },
    ];
    try {
      const started = Date.now();
      // Both pools at once: the same tenants' rows are read and written through both.
      const outcomes = await Promise.all(pools.map(async (p) => ({ ...p, ...(await hammer(p.client)), ms: Date.now() - started })));
      for (const o of outcomes) {
        expect(o.rows).toBeGreaterThan(OPERATIONS);
        console.log(`concurrency (${o.name}): ${OPERATIONS} operations in ${o.ms} ms`);
        // The pool comes out clean.
        const states = await Promise.all(
          Array.from({ length: o.poolSize }, () =>
            o.client.prisma.$queryRawUnsafe<Array<{ s: string; p: string; n: number }>>(
              "SELECT coalesce(current_setting('stratum.tenant_id', true), '') AS s, current_setting('search_path') AS p, ((SELECT count(*) FROM public.users) + (SELECT count(*) FROM public.tickets))::int AS n",
            ),
          ),
        );
        expect(states.map((r) => r[0])).toEqual(Array(o.poolSize).fill({ s: "", p: '"$user", public', n: 0 }));
      }
    } finally {
      await Promise.all(pools.map((p) => p.client.close()));
      await bouncer.stop();
    }
  }, 600_000);
});
