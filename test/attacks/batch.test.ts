/**
 * Batch transactions and scopes. Prisma executes a batch `$transaction([...])` later, in one async
 * context (its first operation's), so before the fix every statement carried the first
 * operation's scope: in `prisma.$transaction([$tenant(a).user.findMany(), $tenant(b).ticket
 * .findMany()])` tenant b's call returned tenant a's tickets, and a b updateMany would have
 * written a's rows. Now a batch mixing tenants is refused with TENANT_SCOPE_VIOLATION; a batch of
 * one tenant runs as before.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { codeOf, createWorld, expectClean, expectOnlyTenant, failure, targets, type World } from "./support.js";

let world: World;

beforeAll(async () => {
  world = await createWorld("atk_batch");
});

afterAll(async () => {
  await world?.close();
});

afterEach(async () => {
  await expectClean(world.solo);
});

const pick = (strategy: "SHARED_RLS" | "SCHEMA") => {
  const found = targets(world).find(([name]) => name === strategy)!;
  return { self: found[1], others: found[2] };
};

describe.each(["SHARED_RLS", "SCHEMA"] as const)("%s", (strategy) => {
  it("a batch on tenant a's client refuses a statement of tenant b instead of mixing them", async () => {
    const { self, others } = pick(strategy);
    const t = world.client.prisma.$tenant(self.tenant.id);
    for (const o of others.filter((x) => x.strategy !== "DATABASE")) {
      const u = world.client.prisma.$tenant(o.tenant.id);
      const outcome = await failure(t.$transaction([t.user.findMany(), u.user.findMany()]));
      expect(codeOf(outcome)).toBe("TENANT_SCOPE_VIOLATION");
      expectOnlyTenant(
        outcome,
        self,
        others.filter((x) => x !== o),
      );
    }
  });
});

describe("mixed tenants in the app's own batch transaction", () => {
  it("is refused, never run in one tenant's scope for all", async () => {
    const p = world.client.prisma;
    const [a, b] = world.rls;
    const [s] = world.schema;
    const outcome = await failure(
      p.$transaction([p.$tenant(a.tenant.id).user.findMany(), p.$tenant(b.tenant.id).ticket.findMany(), p.$tenant(s.tenant.id).user.findMany()]),
    );
    expect(codeOf(outcome)).toBe("TENANT_SCOPE_VIOLATION");
    // One tenant per batch is fine, on the app client and on the scoped one.
    const [ra, rb] = await p.$transaction([p.$tenant(a.tenant.id).user.findMany(), p.$tenant(a.tenant.id).ticket.findMany()]);
    expectOnlyTenant([ra, rb], a, [b, s]);
    expect([ra.length, rb.length]).toEqual([a.users.length, a.tickets.length]);
  });

  it("an unscoped statement and a tenant's in one batch are refused, in either order", async () => {
    const p = world.client.prisma;
    const [a] = world.rls;
    expect(codeOf(await failure(p.$transaction([p.$queryRawUnsafe("SELECT 1"), p.$tenant(a.tenant.id).user.findMany()])))).toBe("TENANT_SCOPE_VIOLATION");
    expect(codeOf(await failure(p.$transaction([p.$tenant(a.tenant.id).user.findMany(), p.$queryRawUnsafe("SELECT 1")])))).toBe("TENANT_SCOPE_VIOLATION");
    // Unscoped batches alone still work.
    const [one, two] = await p.$transaction([
      p.$queryRawUnsafe<Array<{ x: number }>>("SELECT 1 AS x"),
      p.$queryRawUnsafe<Array<{ x: number }>>("SELECT 2 AS x"),
    ]);
    expect([one[0]!.x, two[0]!.x]).toEqual([1, 2]);
  });
});

describe("a batch's writes", () => {
  it("tenant b's read first, then tenant a's updateMany: refused, and no row of b renamed", async () => {
    const p = world.client.prisma;
    const [a, b] = world.rls;
    const outcome = await failure(p.$transaction([p.$tenant(b.tenant.id).user.count(), p.$tenant(a.tenant.id).user.updateMany({ data: { name: "batched" } })]));
    expect(codeOf(outcome)).toBe("TENANT_SCOPE_VIOLATION");
    const renamed = await world.admin.query("SELECT count(*)::int AS n FROM users WHERE name = 'batched'");
    expect(renamed.rows[0].n).toBe(0);
  });
});
