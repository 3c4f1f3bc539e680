/**
 * DATABASE tenants (their own databases on a second PostgreSQL): the read, write, raw and
 * transaction vectors again, routing while the pool LRU evicts under concurrent load, and routing
 * right after a move into and out of the strategy.
 */
import { randomUUID } from "node:crypto";
import { runWithTenant } from "../../src/index.js";
import { SHARED_SEARCH_PATH } from "../../src/isolation/names.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  attackClient,
  codeOf,
  createWorld,
  expectClean,
  expectNoLeak,
  expectOnlyTenant,
  failure,
  rejectsClean,
  seed,
  uniq,
  type AttackClient,
  type Seeded,
  type World,
} from "./support.js";

let world: World;

beforeAll(async () => {
  world = await createWorld("atk_database", { withDatabase: true });
});

afterAll(async () => {
  await world?.close();
});

afterEach(async () => {
  await expectClean(world.solo);
});

type Row = { tenant_id: string };

const pair = () => world.database!;

describe("DATABASE tenant", () => {
  const ctx = () => {
    const [self] = pair();
    return { self, others: world.all.filter((s) => s !== self), t: world.solo.prisma.$tenant(self.tenant.id) };
  };

  it("lives on the second server and reads only its own rows with every read shape", async () => {
    const { self, others, t } = ctx();
    expect(self.tenant.placement).toMatch(/^second\/stratum_t_/);
    const users = await t.user.findMany({ include: { tickets: { include: { author: true } } } });
    expect(users).toHaveLength(self.users.length);
    expectOnlyTenant(users, self, others);
    expect(await t.ticket.count()).toBe(self.tickets.length);
    expectOnlyTenant(await t.ticket.groupBy({ by: ["tenant_id"], _count: { _all: true } }), self, others);
    expectOnlyTenant(await t.user.findUnique({ where: { id: self.users[0]!.id } }).tickets(), self, others);
    for (const o of others) {
      expect(await t.user.findUnique({ where: { id: o.users[0]!.id } })).toBeNull();
      expect(await t.user.findUnique({ where: { tenant_id_email: { tenant_id: o.tenant.id, email: o.users[0]!.email } } })).toBeNull();
    }
  });

  it("writes cannot cross: foreign tenant id, moved rows, FK into another tenant's user, updateMany by foreign ids", async () => {
    const { self, others, t } = ctx();
    for (const o of others) {
      await rejectsClean(t.user.create({ data: { tenant_id: o.tenant.id, email: `x-${uniq()}@x.test` } }), others);
      await rejectsClean(t.user.update({ where: { id: self.users[0]!.id }, data: { tenant_id: o.tenant.id } }), others);
      const fk = await rejectsClean(t.ticket.create({ data: { tenant_id: self.tenant.id, title: "fk", author_id: o.users[0]!.id } }), others);
      const none = await failure(t.ticket.create({ data: { tenant_id: self.tenant.id, title: "fk", author_id: randomUUID() } }));
      expect(codeOf(fk)).toBe(codeOf(none));
      expect((await t.user.updateMany({ where: { id: { in: o.users.map((u) => u.id) } }, data: { name: "pwned" } })).count).toBe(0);
    }
    const dup = await t.user.create({ data: { tenant_id: self.tenant.id, email: others[0]!.users[0]!.email } });
    await t.user.delete({ where: { id: dup.id } });
    const truncate = await failure(t.$executeRawUnsafe("TRUNCATE tickets"));
    expect(String((truncate as Error).message)).toMatch(/permission denied|42501/);
  });

  it("raw SQL cannot forge a scope, switch search_path or keep a session setting", async () => {
    const { self, others, t } = ctx();
    const [own] = await t.$queryRawUnsafe<Array<{ token: string }>>("SELECT current_setting('stratum.tenant_id') AS token");
    const victim = pair()[1].tenant.id;
    for (const forged of [`${victim}.s.${own!.token.slice(-64)}`, `${victim}.s.${"0".repeat(64)}`, `${self.tenant.id}.d.${own!.token.slice(-64)}`]) {
      const rows = await t.$queryRawUnsafe<Row[]>("SELECT u.tenant_id::text FROM (SELECT set_config('stratum.tenant_id', $1, true)) f, users u", forged);
      expect(rows).toEqual([]);
    }
    await t.$queryRawUnsafe("SELECT set_config('search_path', 'pg_catalog', false), set_config('stratum.tenant_id', 'junk', false)");
    // The next statement on that tenant database's (single) connection has its own scope back.
    const users = await t.user.findMany();
    expect(users).toHaveLength(self.users.length);
    expectOnlyTenant(users, self, others);
    const state = await t.$queryRawUnsafe<Array<{ p: string }>>("SELECT current_setting('search_path') AS p");
    expect(state[0]!.p).toBe(SHARED_SEARCH_PATH);
    expect(await t.$queryRawUnsafe<Row[]>("SELECT tenant_id::text FROM users")).toHaveLength(self.users.length);
  });

  it("transactions: scoped batch and interactive work; joining the app's main-database transaction is refused", async () => {
    const { self, others, t } = ctx();
    const [users, count] = await t.$transaction([t.user.findMany(), t.ticket.count()]);
    expectOnlyTenant(users, self, others);
    expect(count).toBe(self.tickets.length);
    const inTx = await t.$transaction(async (tx) => tx.user.findMany({ include: { tickets: true } }));
    expectOnlyTenant(inTx, self, others);
    const joined = await failure(world.solo.prisma.$transaction(async (tx) => tx.$tenant(self.tenant.id).user.findMany()));
    expect(codeOf(joined)).toBe("TENANT_SCOPE_VIOLATION");
    const mixed = await failure(
      world.client.prisma.$transaction([
        world.client.prisma.$tenant(self.tenant.id).user.count(),
        world.client.prisma.$tenant(world.rls[0].tenant.id).user.count(),
      ]),
    );
    expect(codeOf(mixed)).toBe("TENANT_SCOPE_VIOLATION");
    expectNoLeak(
      mixed,
      others.filter((o) => o !== world.rls[0]),
    );
    const before = await t.user.count();
    await failure(
      t.$transaction(async (tx) => {
        await tx.user.create({ data: { tenant_id: self.tenant.id, email: `rb-${uniq()}@x.test` } });
        throw new Error("boom");
      }),
    );
    expect(await t.user.count()).toBe(before);
  });

  it("context: no context refuses, runWithTenant survives timers, DISCARD/RESET ALL and transactions leave nothing behind", async () => {
    const { self, others, t } = ctx();
    const p = world.solo.prisma;
    const rows = await runWithTenant(self.tenant.id, async () => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      return new Promise<unknown>((resolve, reject) => setImmediate(() => p.user.findMany().then(resolve, reject)));
    });
    expectOnlyTenant(rows, self, others);
    expect(codeOf(await failure(p.user.findMany()))).toBe("NO_TENANT_CONTEXT");
    for (const statement of ["DISCARD ALL", "RESET ALL", "SET search_path TO pg_catalog", "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"]) {
      const outcome = await failure(t.$executeRawUnsafe(statement));
      if (outcome) expectNoLeak(outcome, others);
      // The tenant database's single pooled connection serves the next statement normally, writes included.
      const own = await t.user.findMany();
      expect(own).toHaveLength(self.users.length);
      expectOnlyTenant(own, self, others);
      expect(await t.user.updateMany({ where: { id: self.users[0]!.id }, data: { name: self.users[0]!.name } })).toEqual({ count: 1 });
    }
    await t.$transaction(async (tx) => tx.$executeRawUnsafe("SELECT set_config('stratum.tenant_id', current_setting('stratum.tenant_id'), false)"));
    const state = await t.$queryRawUnsafe<Array<{ p: string; ro: string }>>(
      "SELECT current_setting('search_path') AS p, current_setting('transaction_read_only') AS ro",
    );
    expect(state[0]).toEqual({ p: SHARED_SEARCH_PATH, ro: "off" });
  });

  it("the two DATABASE tenants never see each other's rows, even through raw SQL naming the other database", async () => {
    const [d1, d2] = pair();
    const t = world.solo.prisma.$tenant(d1.tenant.id);
    const cross = await failure(t.$queryRawUnsafe(`SELECT * FROM "${d2.tenant.placement!.split("/")[1]}".public.users`));
    expect(cross).toBeDefined();
    expectNoLeak(cross, [d2]);
    expectOnlyTenant(await world.solo.prisma.$tenant(d2.tenant.id).user.findMany(), d2, [d1]);
  });
});

describe("routing while pools are evicted", () => {
  let client: AttackClient;
  const extra: Seeded[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 4; i++) {
      const tenant = await world.client.prisma.$stratum.createTenant({ name: `evict ${uniq()}`, isolation_strategy: "DATABASE", server: "second" });
      extra.push(await seed(world.client.prisma, tenant, "DATABASE"));
    }
    const { secondServer } = await import("./support.js");
    client = attackClient(world.db, { poolSize: 4, maxPools: 2, tenantPoolSize: 2, servers: { second: await secondServer() } });
  });

  afterAll(async () => {
    await client?.close();
    for (const s of extra) await world.client.prisma.$stratum.deleteTenant(s.tenant.id, { cascade: true }).catch(() => undefined);
  });

  it("with a budget of 4 connections per server and six DATABASE tenants queried concurrently, every row carries its tenant", async () => {
    const tenants = [...pair(), ...extra, ...world.rls, ...world.schema];
    const calls: Array<Promise<{ s: Seeded; rows: unknown }>> = [];
    for (let round = 0; round < 20; round++) {
      for (const s of tenants) {
        const t = client.prisma.$tenant(s.tenant.id);
        const op =
          round % 3 === 0
            ? t.user.findMany()
            : round % 3 === 1
              ? t.ticket.findMany({ include: { author: true } })
              : t.$queryRawUnsafe<Row[]>("SELECT tenant_id::text FROM users");
        calls.push(Promise.resolve(op).then((rows) => ({ s, rows })));
      }
    }
    for (const { s, rows } of await Promise.all(calls)) {
      expect((rows as unknown[]).length).toBeGreaterThan(0);
      expectOnlyTenant(
        rows,
        s,
        tenants.filter((o) => o !== s),
      );
    }
    // The pressure was real (idle pools were closed to make room, so routes kept changing pools
    // under the calls above), and no server went past its connection budget (maxPools × poolSize).
    const stats = client.adapter.tenantPoolStats()!;
    expect(stats.evictions).toBeGreaterThan(0);
    for (const [server, use] of Object.entries(stats.servers)) expect({ server, peak: use.peak <= use.cap }).toEqual({ server, peak: true });
  });

  it("an interactive transaction pins its pool while other tenants' queries churn the LRU", async () => {
    const [d1] = pair();
    const t = client.prisma.$tenant(d1.tenant.id);
    const churn = async () => {
      for (let i = 0; i < 10; i++) for (const s of extra) expectOnlyTenant(await client.prisma.$tenant(s.tenant.id).user.findMany(), s, [d1]);
    };
    const result = await t.$transaction(
      async (tx) => {
        const first = await tx.user.findMany();
        await churn();
        const second = await tx.ticket.findMany();
        return [first, second];
      },
      { timeout: 20_000 },
    );
    expectOnlyTenant(result, d1, extra);
  });
});

describe("routing right after a move", () => {
  it("moving RLS → DATABASE → SHARED_RLS: every query right after each flip returns the tenant's rows, from both clients", async () => {
    const p = world.client.prisma;
    const tenant = await p.$stratum.createTenant({ name: `mover ${uniq()}` });
    const moving = await seed(p, tenant, "SHARED_RLS");
    const others = world.all;
    // Prime the solo client's route cache with the old home.
    expectOnlyTenant(await world.solo.prisma.$tenant(tenant.id).user.findMany(), moving, others);
    for (const [to, opts] of [
      ["DATABASE", { server: "second" }],
      ["SHARED_RLS", {}],
    ] as const) {
      await p.$stratum.setIsolation(tenant.id, to, opts);
      const bursts = await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          const c = i % 2 === 0 ? world.client.prisma : world.solo.prisma;
          return Promise.resolve(c.$tenant(tenant.id).user.findMany()).then(
            (rows) => ({ i, rows }),
            (error: unknown) => ({ i, error }),
          );
        }),
      );
      for (const b of bursts) {
        if ("error" in b) {
          expectNoLeak(b.error, others);
          continue;
        }
        // A stale route finds the old home empty, never another tenant's rows.
        expectOnlyTenant(b.rows, moving, others);
        if (b.i % 2 === 0) expect(b.rows).toHaveLength(moving.users.length);
      }
      expect(await p.$tenant(tenant.id).ticket.count()).toBe(moving.tickets.length);
      for (const o of world.all) expectOnlyTenant(await p.$tenant(o.tenant.id).user.findMany(), o, [moving]);
    }
  });
});
