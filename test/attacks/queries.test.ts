/**
 * Reads through every query shape Prisma has, aimed at another tenant's rows: nested include and
 * select, the fluent API, _count, aggregate, groupBy, findUnique by a foreign id and by another
 * tenant's compound unique, filters on relations.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runWithTenant } from "../../src/index.js";
import { codeOf, createWorld, expectClean, expectNoLeak, expectOnlyTenant, failure, targets, type World } from "./support.js";

let world: World;

beforeAll(async () => {
  world = await createWorld("atk_queries");
});

afterAll(async () => {
  await world?.close();
});

afterEach(async () => {
  await expectClean(world.solo);
});

describe.each(["SHARED_RLS", "SCHEMA"] as const)("%s", (strategy) => {
  const ctx = () => {
    const found = targets(world).find(([name]) => name === strategy)!;
    return { self: found[1], others: found[2], t: world.solo.prisma.$tenant(found[1].tenant.id) };
  };
  const foreignUser = () => ctx().others[0]!.users[0]!;
  const foreignTicket = () => ctx().others[0]!.tickets[0]!;

  it("findMany with include, nested select, relation filters and ordering", async () => {
    const { self, others, t } = ctx();
    const users = await t.user.findMany({ include: { tickets: { include: { author: true } } }, orderBy: { email: "asc" } });
    expect(users).toHaveLength(self.users.length);
    expectOnlyTenant(users, self, others);
    const tickets = await t.ticket.findMany({
      select: { id: true, tenant_id: true, title: true, author: { select: { tenant_id: true, email: true, tickets: true } } },
    });
    expect(tickets).toHaveLength(self.tickets.length);
    expectOnlyTenant(tickets, self, others);
    // Relation filters naming foreign values match nothing.
    expect(await t.user.findMany({ where: { tickets: { some: { id: foreignTicket().id } } } })).toEqual([]);
    expect(await t.ticket.findMany({ where: { author: { email: foreignUser().email } } })).toEqual([]);
    expect(await t.user.findMany({ where: { tickets: { none: {} } } })).toEqual([]);
    const everyone = await t.user.findMany({ where: { OR: [{ id: { in: others.flatMap((o) => o.users.map((u) => u.id)) } }, { email: { contains: "" } }] } });
    expectOnlyTenant(everyone, self, others);
    expect(everyone).toHaveLength(self.users.length);
    // distinct, cursor and skip/take over the shared email
    const shared = await t.user.findMany({ where: { email: "shared@same.test" }, distinct: ["email"] });
    expect(shared).toHaveLength(1);
    expectOnlyTenant(shared, self, others);
    const cursor = await t.user.findMany({ cursor: { id: foreignUser().id }, take: 5 });
    expect(cursor).toEqual([]);
  });

  it("fluent API from own and foreign rows", async () => {
    const { self, others, t } = ctx();
    const own = await t.user.findUnique({ where: { id: self.users[0]!.id } }).tickets();
    expect(own!.length).toBeGreaterThan(0);
    expectOnlyTenant(own, self, others);
    const author = await t.ticket.findUnique({ where: { id: self.tickets[0]!.id } }).author();
    expectOnlyTenant(author, self, others);
    expect(await t.user.findUnique({ where: { id: foreignUser().id } }).tickets()).toBeNull();
    expect(await t.ticket.findFirst({ where: { id: foreignTicket().id } }).author()).toBeNull();
    const ambient = await runWithTenant(self.tenant.id, () => world.solo.prisma.user.findUnique({ where: { id: self.users[0]!.id } }).tickets());
    expect(ambient).toEqual(own);
    expect(await runWithTenant(self.tenant.id, () => world.solo.prisma.user.findUnique({ where: { id: foreignUser().id } }).tickets())).toBeNull();
    const err = await failure(t.user.findUniqueOrThrow({ where: { id: foreignUser().id } }).tickets());
    expect(err).toBeDefined();
    expectNoLeak(err, others);
  });

  it("_count, count, aggregate and groupBy count only the tenant's rows", async () => {
    const { self, others, t } = ctx();
    const counted = await t.user.findMany({ select: { id: true, _count: { select: { tickets: true } } } });
    expect(counted.reduce((n, u) => n + u._count.tickets, 0)).toBe(self.tickets.length);
    expect(await t.user.count()).toBe(self.users.length);
    expect(await t.ticket.count({ where: { author_id: { in: others.flatMap((o) => o.users.map((u) => u.id)) } } })).toBe(0);
    const agg = await t.ticket.aggregate({ _count: { _all: true, id: true }, _min: { title: true }, _max: { title: true } });
    expect(agg._count._all).toBe(self.tickets.length);
    expect(agg._max.title).toBe([...self.tickets.map((x) => x.title)].sort().at(-1));
    expectNoLeak(agg, others);
    const groups = await t.user.groupBy({ by: ["tenant_id", "email"], _count: { _all: true }, orderBy: { email: "asc" } });
    expect(groups).toHaveLength(self.users.length);
    expectOnlyTenant(groups, self, others);
    const having = await t.ticket.groupBy({ by: ["tenant_id"], _count: { _all: true }, having: { tenant_id: { _count: { gt: 0 } } } });
    expect(having).toEqual([{ tenant_id: self.tenant.id, _count: { _all: self.tickets.length } }]);
  });

  it("findUnique and findUniqueOrThrow by a foreign id and by another tenant's compound unique", async () => {
    const { self, others, t } = ctx();
    for (const other of others) {
      for (const user of other.users) {
        expect(await t.user.findUnique({ where: { id: user.id } })).toBeNull();
        expect(await t.user.findUnique({ where: { tenant_id_id: { tenant_id: other.tenant.id, id: user.id } } })).toBeNull();
        expect(await t.user.findUnique({ where: { tenant_id_email: { tenant_id: other.tenant.id, email: user.email } } })).toBeNull();
        // Their compound key with our tenant id: still nothing.
        expect(await t.user.findUnique({ where: { tenant_id_email: { tenant_id: self.tenant.id, email: user.email } } })).toEqual(
          user.email === "shared@same.test" ? expect.objectContaining({ tenant_id: self.tenant.id }) : null,
        );
      }
      for (const ticket of other.tickets) expect(await t.ticket.findUnique({ where: { id: ticket.id } })).toBeNull();
    }
    const err = await failure(t.user.findUniqueOrThrow({ where: { id: foreignUser().id } }));
    expect(codeOf(err)).toBe("P2025");
    expectNoLeak(err, others);
    const errFirst = await failure(t.ticket.findFirstOrThrow({ where: { id: foreignTicket().id } }));
    expect(codeOf(errFirst)).toBe("P2025");
    expectNoLeak(errFirst, others);
  });

  it("findUnique calls of many tenants in one tick are never batched together", async () => {
    const calls = world.all.flatMap((s) =>
      s.users.map((u) =>
        world.client.prisma
          .$tenant(s.tenant.id)
          .user.findUnique({ where: { id: u.id } })
          .then((row) => ({ s, row })),
      ),
    );
    // And each tenant asks for every other tenant's ids in the same tick.
    const foreign = world.all.flatMap((s) =>
      world.all.filter((o) => o !== s).flatMap((o) => o.users.map((u) => world.client.prisma.$tenant(s.tenant.id).user.findUnique({ where: { id: u.id } }))),
    );
    const [mine, theirs] = await Promise.all([Promise.all(calls), Promise.all(foreign)]);
    for (const { s, row } of mine) expect(row?.tenant_id).toBe(s.tenant.id);
    expect(theirs.every((r) => r === null)).toBe(true);
  });
});

describe("descendants view", () => {
  it("reads its subtree only and cannot be used to write", async () => {
    const [a] = world.rls;
    // a has no children: its descendants view is a alone.
    const view = world.solo.prisma.$tenant(a.tenant.id, { descendants: true });
    const rows = await view.user.findMany();
    expectOnlyTenant(
      rows,
      a,
      world.all.filter((s) => s !== a),
    );
    expect(codeOf(await failure(view.user.updateMany({ data: { name: "x" } })))).toBe("READ_ONLY_SCOPE");
    expect(codeOf(await failure(view.$executeRawUnsafe("UPDATE users SET name = 'x'")))).toBe("READ_ONLY_SCOPE");
    // A raw write smuggled through $queryRaw still hits the read-only transaction.
    const smuggled = await failure(view.$queryRawUnsafe("UPDATE users SET name = 'x' RETURNING id"));
    expect(smuggled).toBeDefined();
    expect((await world.admin.query("SELECT count(*)::int AS n FROM users WHERE name = 'x'")).rows[0].n).toBe(0);
  });
});
