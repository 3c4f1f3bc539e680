/**
 * Attacks on the tenant context itself: no context at all, context that should have ended (after a
 * transaction, after DISCARD ALL), and context carried (or lost) across await, timers and lazy
 * PrismaPromises. Every attack ends on a clean pool-of-1 connection.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runWithTenant } from "../../src/index.js";
import { codeOf, createWorld, expectClean, expectOnlyTenant, failure, sleep, targets, type World } from "./support.js";

let world: World;

beforeAll(async () => {
  world = await createWorld("atk_context");
});

afterAll(async () => {
  await world?.close();
});

afterEach(async () => {
  await expectClean(world.solo);
});

describe("no context", () => {
  const ops: Array<[string, (p: World["solo"]["prisma"]) => PromiseLike<unknown>]> = [
    ["findMany", (p) => p.user.findMany()],
    ["findUnique", (p) => p.user.findUnique({ where: { id: "00000000-0000-4000-8000-000000000001" } })],
    ["findFirst", (p) => p.ticket.findFirst()],
    ["count", (p) => p.ticket.count()],
    ["aggregate", (p) => p.user.aggregate({ _count: { _all: true } })],
    ["groupBy", (p) => p.ticket.groupBy({ by: ["tenant_id"], _count: true })],
    ["create", (p) => p.user.create({ data: { tenant_id: world.rls[0].tenant.id, email: "nocontext@x.test" } })],
    ["createMany", (p) => p.user.createMany({ data: [{ tenant_id: world.rls[0].tenant.id, email: "nocontext2@x.test" }] })],
    ["updateMany", (p) => p.user.updateMany({ data: { name: "pwned" } })],
    ["deleteMany", (p) => p.ticket.deleteMany()],
    [
      "upsert",
      (p) =>
        p.user.upsert({
          where: { id: world.rls[0].users[0]!.id },
          create: { tenant_id: world.rls[0].tenant.id, email: "nocontext3@x.test" },
          update: { name: "pwned" },
        }),
    ],
  ];

  it.each(ops)("unscoped %s refuses with NO_TENANT_CONTEXT", async (_name, op) => {
    const error = await failure(op(world.solo.prisma));
    expect(codeOf(error)).toBe("NO_TENANT_CONTEXT");
  });

  it("$tenant() without runWithTenant throws NO_TENANT_CONTEXT", () => {
    expect(() => world.solo.prisma.$tenant()).toThrow(expect.objectContaining({ code: "NO_TENANT_CONTEXT" }));
  });

  it("unscoped raw SQL sees no tenant row in any home", async () => {
    const rows = await world.solo.prisma.$queryRawUnsafe<Array<{ n: number }>>(
      `SELECT ((SELECT count(*) FROM public.users) + (SELECT count(*) FROM public.tickets)
             + (SELECT count(*) FROM "${world.schema[0].tenant.placement}".users) + (SELECT count(*) FROM "${world.schema[1].tenant.placement}".tickets))::int AS n`,
    );
    expect(rows[0]!.n).toBe(0);
    expect(await world.solo.prisma.$executeRawUnsafe("UPDATE public.users SET name = 'pwned'")).toBe(0);
    expect(await world.solo.prisma.$executeRawUnsafe("DELETE FROM public.tickets")).toBe(0);
  });

  it("a model call inside the app's own unscoped transaction still needs a tenant", async () => {
    const error = await failure(world.client.prisma.$transaction(async (tx) => tx.user.findMany()));
    expect(codeOf(error)).toBe("NO_TENANT_CONTEXT");
    const batch = await failure(world.client.prisma.$transaction([world.client.prisma.user.count()]));
    expect(codeOf(batch)).toBe("NO_TENANT_CONTEXT");
  });

  it("a timer scheduled outside every context does not inherit the last tenant's", async () => {
    let later: Promise<unknown> | undefined;
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        later = failure(world.solo.prisma.user.findMany());
        resolve();
      }, 5),
    );
    await runWithTenant(world.rls[0].tenant.id, () => world.solo.prisma.user.findMany());
    await timer;
    expect(codeOf(await later)).toBe("NO_TENANT_CONTEXT");
  });
});

describe("stale context", () => {
  it.each(["SHARED_RLS", "SCHEMA"] as const)("%s: nothing survives a scoped transaction (interactive, batch, failed)", async (strategy) => {
    const [self, others] = pick(strategy);
    const t = world.solo.prisma.$tenant(self.tenant.id);
    const inside = await t.$transaction(async (tx) => {
      const rows = await tx.user.findMany();
      const setting = await tx.$queryRawUnsafe<Array<{ s: string }>>("SELECT current_setting('stratum.tenant_id', true) AS s");
      return { rows, setting: setting[0]!.s };
    });
    expectOnlyTenant(inside.rows, self, others);
    expect(inside.setting.startsWith(`${self.tenant.id}.s.`)).toBe(true);
    await expectClean(world.solo);
    const [users, count] = await t.$transaction([t.user.findMany(), t.ticket.count()]);
    expectOnlyTenant(users, self, others);
    expect(count).toBe(self.tickets.length);
    await expectClean(world.solo);
    await failure(
      t.$transaction(async (tx) => {
        await tx.user.findMany();
        await tx.$queryRawUnsafe("SELECT 1/0");
      }),
    );
    await expectClean(world.solo);
  });

  it.each(["SHARED_RLS", "SCHEMA"] as const)(
    "%s: DISCARD ALL / RESET ALL run as raw SQL inside a scope neither widen the scope nor linger",
    async (strategy) => {
      const [self, others] = pick(strategy);
      const t = world.solo.prisma.$tenant(self.tenant.id);
      for (const statement of ["DISCARD ALL", "RESET ALL", "DISCARD PLANS", "RESET stratum.tenant_id", "RESET search_path"]) {
        const outcome = await failure(t.$executeRawUnsafe(statement));
        if (outcome) expectOnlyTenant(outcome, self, others);
        // The next scoped call on the same connection still sees exactly its own rows.
        const rows = await t.user.findMany({ orderBy: { email: "asc" } });
        expectOnlyTenant(rows, self, others);
        expect(rows).toHaveLength(self.users.length);
        await expectClean(world.solo);
      }
      // Inside an interactive transaction DISCARD ALL is refused, and the rollback leaves nothing.
      const inTx = await failure(t.$transaction(async (tx) => tx.$executeRawUnsafe("DISCARD ALL")));
      expect(inTx).toBeDefined();
      expectOnlyTenant(inTx, self, others);
      await expectClean(world.solo);
    },
  );
});

describe("context across await, timers and lazy promises", () => {
  it.each(["SHARED_RLS", "SCHEMA"] as const)("%s: runWithTenant survives await, setTimeout, setImmediate, queueMicrotask", async (strategy) => {
    const [self, others] = pick(strategy);
    const p = world.solo.prisma;
    const results = await runWithTenant(self.tenant.id, async () => {
      const out: unknown[] = [];
      await sleep(1);
      out.push(await p.user.findMany());
      out.push(await new Promise((resolve, reject) => setTimeout(() => p.ticket.findMany().then(resolve, reject), 2)));
      out.push(await new Promise((resolve, reject) => setImmediate(() => p.user.findMany({ include: { tickets: true } }).then(resolve, reject))));
      out.push(await new Promise((resolve, reject) => queueMicrotask(() => p.$tenant().ticket.findMany().then(resolve, reject))));
      return out;
    });
    for (const rows of results) {
      expect((rows as unknown[]).length).toBeGreaterThan(0);
      expectOnlyTenant(rows, self, others);
    }
  });

  it("interleaved contexts on timers never swap tenants", async () => {
    const p = world.client.prisma;
    const runs = world.all.flatMap((s) =>
      Array.from({ length: 6 }, (_, i) =>
        runWithTenant(s.tenant.id, async () => {
          await sleep((i * 7) % 5);
          const rows = await new Promise<unknown>((resolve, reject) => setTimeout(() => p.user.findMany().then(resolve, reject), i % 3));
          return { s, rows };
        }),
      ),
    );
    for (const { s, rows } of await Promise.all(runs)) {
      expect((rows as unknown[]).length).toBe(s.users.length);
      expectOnlyTenant(
        rows,
        s,
        world.all.filter((o) => o !== s),
      );
    }
  });

  it("a $tenant(a) promise created in one place and awaited inside tenant b's context returns a's rows", async () => {
    const [a, b] = world.rls;
    const lazy = world.solo.prisma.$tenant(a.tenant.id).user.findMany();
    const lazySchema = world.solo.prisma.$tenant(world.schema[0].tenant.id).ticket.findMany();
    const [got, gotSchema] = await runWithTenant(b.tenant.id, async () => [await lazy, await lazySchema] as const);
    expectOnlyTenant(got, a, [b, ...world.schema]);
    expectOnlyTenant(gotSchema, world.schema[0], [a, b, world.schema[1]]);
  });

  it("a plain model promise created inside runWithTenant(a) but not started runs for whoever awaits it, never mixed", async () => {
    const [a, b] = world.rls;
    let lazy: PromiseLike<Array<{ tenant_id: string }>> | undefined;
    runWithTenant(a.tenant.id, () => {
      lazy = world.solo.prisma.user.findMany();
      return undefined;
    });
    // Awaited under b: Prisma starts it here, so it carries b's context, and only b's rows.
    const underB = await runWithTenant(b.tenant.id, async () => lazy!);
    expect(new Set(underB.map((u) => u.tenant_id))).toEqual(new Set([b.tenant.id]));
    // A second lazy promise awaited with no context at all fails closed.
    let orphan: PromiseLike<unknown> | undefined;
    runWithTenant(a.tenant.id, () => {
      orphan = world.solo.prisma.ticket.findMany();
      return undefined;
    });
    expect(codeOf(await failure(orphan!))).toBe("NO_TENANT_CONTEXT");
  });

  it("a promise returned from runWithTenant(a) is started inside a's context", async () => {
    const [a, b] = world.rls;
    const started = runWithTenant(a.tenant.id, () => world.solo.prisma.user.findMany());
    const rows = await runWithTenant(b.tenant.id, async () => started);
    expectOnlyTenant(rows, a, [b]);
  });
});

describe("errors mid-transaction", () => {
  it.each(["SHARED_RLS", "SCHEMA"] as const)("%s: a failing statement rolls back the tenant's writes and leaks no foreign value", async (strategy) => {
    const [self, others] = pick(strategy);
    const t = world.solo.prisma.$tenant(self.tenant.id);
    const before = await t.user.count();
    const interactive = await failure(
      t.$transaction(async (tx) => {
        await tx.user.create({ data: { tenant_id: self.tenant.id, email: `mid-${strategy}@x.test` } });
        // Same email twice: a unique violation inside the tenant's own rows.
        await tx.user.create({ data: { tenant_id: self.tenant.id, email: `mid-${strategy}@x.test` } });
      }),
    );
    expect(interactive).toBeDefined();
    expectOnlyTenant(interactive, self, others);
    const batch = await failure(
      t.$transaction([
        t.user.create({ data: { tenant_id: self.tenant.id, email: `batch-${strategy}@x.test` } }),
        t.ticket.create({ data: { tenant_id: self.tenant.id, title: "orphan", author_id: others[0]!.users[0]!.id } }),
      ]),
    );
    expect(batch).toBeDefined();
    expectOnlyTenant(batch, self, others);
    expect(await t.user.count()).toBe(before);
    await expectClean(world.solo);
  });
});

function pick(strategy: "SHARED_RLS" | "SCHEMA") {
  const found = targets(world).find(([name]) => name === strategy)!;
  return [found[1], found[2]] as const;
}
