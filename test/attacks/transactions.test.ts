/**
 * User transactions: batch and interactive on a scoped client, `tx.$tenant(x)` inside the app's
 * own unscoped `prisma.$transaction`, tenants mixed in one transaction, and serializable
 * transactions retried after a serialization failure.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { codeOf, createWorld, expectClean, expectOnlyTenant, failure, render, targets, type World } from "./support.js";

let world: World;

beforeAll(async () => {
  world = await createWorld("atk_tx");
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
  it("batch transaction on the scoped client reads and writes the tenant only", async () => {
    const { self, others } = pick(strategy);
    const t = world.solo.prisma.$tenant(self.tenant.id);
    const [users, tickets, count, updated] = await t.$transaction([
      t.user.findMany({ include: { tickets: true } }),
      t.ticket.findMany(),
      t.user.count(),
      t.user.updateMany({ data: { name: undefined } }),
      t.$queryRawUnsafe("SELECT tenant_id::text FROM users"),
    ]);
    expectOnlyTenant([users, tickets], self, others);
    expect(count).toBe(self.users.length);
    expect(updated.count).toBe(self.users.length);
  });

  it("interactive transaction: every statement bound to the tenant, nested savepoint-like failures roll back", async () => {
    const { self, others } = pick(strategy);
    const t = world.solo.prisma.$tenant(self.tenant.id);
    const seen = await t.$transaction(async (tx) => {
      const a = await tx.user.findMany({ include: { tickets: true } });
      const b = await tx.$queryRawUnsafe("SELECT tenant_id::text FROM users UNION ALL SELECT tenant_id::text FROM tickets");
      const c = await tx.ticket.findFirst({ where: { id: others[0]!.tickets[0]!.id } });
      return [a, b, c];
    });
    expectOnlyTenant(seen, self, others);
    expect(seen[2]).toBeNull();
    // Inside a's transaction, a $tenant(b) call on the transaction client is refused.
    const cross = await failure(t.$transaction(async (tx) => (tx as unknown as typeof world.solo.prisma).$tenant(others[0]!.tenant.id).user.findMany()));
    expect(cross).toBeDefined();
    expectOnlyTenant(cross, self, others.slice(1));
  });

  it("tx.$tenant(x) inside the app's own unscoped interactive transaction: one tenant's rows; a second tenant is refused and nothing commits", async () => {
    const { self, others } = pick(strategy);
    const other = others.find((o) => o.strategy !== "DATABASE" && o.strategy !== strategy) ?? others[0]!;
    const p = world.solo.prisma;
    const before = { self: await p.$tenant(self.tenant.id).user.count(), other: await p.$tenant(other.tenant.id).user.count() };
    const out = await p.$transaction(async (tx) => {
      const mine = await tx.$tenant(self.tenant.id).user.findMany({ include: { tickets: true } });
      // An unscoped statement between scoped ones sees no tenant at all.
      const between = await tx.$queryRawUnsafe<Array<{ s: string; n: number }>>(
        "SELECT coalesce(current_setting('stratum.tenant_id', true), '') AS s, (SELECT count(*) FROM public.users)::int AS n",
      );
      const mine2 = await tx.$tenant(self.tenant.id).$queryRawUnsafe("SELECT tenant_id::text FROM users");
      const unscopedModel = await failure(tx.user.findMany());
      return { mine, between: between[0]!, mine2, unscopedModel };
    });
    expectOnlyTenant([out.mine, out.mine2], self, others);
    expect(out.between).toEqual({ s: "", n: 0 });
    expect(codeOf(out.unscopedModel)).toBe("NO_TENANT_CONTEXT");
    // One transaction, one tenant (docs/security.md): the other tenant's statement is refused,
    // and the first tenant's write rolls back with it.
    const boom = await failure(
      p.$transaction(async (tx) => {
        await tx.$tenant(self.tenant.id).user.create({ data: { tenant_id: self.tenant.id, email: `rb-${strategy}@x.test` } });
        await tx.$tenant(other.tenant.id).user.create({ data: { tenant_id: other.tenant.id, email: `rb-${strategy}@x.test` } });
      }),
    );
    expect(boom).toBeDefined();
    expect(String((boom as Error).message)).toContain("cannot join it");
    expectOnlyTenant(
      boom,
      self,
      others.filter((o) => o !== other),
    );
    expect({ self: await p.$tenant(self.tenant.id).user.count(), other: await p.$tenant(other.tenant.id).user.count() }).toEqual(before);
  });

  it("serializable transactions: a serialization failure is retried and the retry still sees only the tenant", async () => {
    const { self, others } = pick(strategy);
    const t = world.client.prisma.$tenant(self.tenant.id);
    const attempts: string[] = [];
    let failures = 0;
    // Two transactions read the tenant's tickets and each insert one: write skew, one must fail.
    const gate = barrier(2);
    const worker = async (name: string) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          return await t.$transaction(
            async (tx) => {
              attempts.push(name);
              const seen = await tx.ticket.findMany();
              expectOnlyTenant(seen, self, others);
              if (attempt === 0) await gate();
              const author = seen[0]!.author_id;
              return await tx.ticket.create({ data: { tenant_id: self.tenant.id, title: `skew ${name} ${seen.length}`, author_id: author } });
            },
            { isolationLevel: "Serializable", maxWait: 10_000, timeout: 10_000 },
          );
        } catch (error) {
          expectOnlyTenant(error, self, others);
          if (codeOf(error) !== "P2034" && !/40001|serializ/i.test(render(error))) throw error;
          failures++;
        }
      }
      throw new Error(`${name}: no success after retries`);
    };
    const rows = await Promise.all([worker("one"), worker("two")]);
    expectOnlyTenant(rows, self, others);
    expect(failures).toBeGreaterThanOrEqual(1);
    // Clean up the skew rows, and every connection of the pool is clean.
    await t.ticket.deleteMany({ where: { title: { startsWith: "skew " } } });
    const states = await Promise.all(
      Array.from({ length: 10 }, () =>
        world.client.prisma.$queryRawUnsafe<Array<{ s: string; p: string }>>(
          "SELECT coalesce(current_setting('stratum.tenant_id', true), '') AS s, current_setting('search_path') AS p",
        ),
      ),
    );
    expect(states.every((r) => r[0]!.s === "" && r[0]!.p === '"$user", public')).toBe(true);
  });
});

function barrier(n: number): () => Promise<void> {
  let waiting = 0;
  let release: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (release = resolve));
  return async () => {
    if (++waiting >= n) release();
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 2_000))]);
  };
}
