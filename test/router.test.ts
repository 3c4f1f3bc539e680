/** The route cache: expired routes keep serving while a fresh one loads; forget() applies at once. */
import { describe, expect, it } from "vitest";
import { isStratumError } from "../src/core/errors.js";
import { buildStrategies } from "../src/extension/strategies.js";
import { DEFAULT_HOME_BATCH, type DescendantScope, setHomeBatchSize, type SubtreeMember } from "../src/isolation/descendants.js";
import { IsolationRouter } from "../src/isolation/router.js";
import type { TenantRoute } from "../src/isolation/strategy.js";

const ID = "11111111-1111-4111-8111-111111111111";
const route = (strategy: TenantRoute["isolation_strategy"], status = "active"): TenantRoute => ({
  id: ID,
  slug: "acme",
  status,
  isolation_strategy: strategy,
  placement: strategy === "SCHEMA" ? "acme" : null,
});

function router(ttlMs: number) {
  let current: TenantRoute | null = route("SHARED_RLS");
  let loads = 0;
  const r = new IsolationRouter({
    strategies: buildStrategies(["users"]),
    sign: (id, mode) => `${id}.${mode}.${"0".repeat(64)}`,
    ttlMs,
    load: async () => (loads++, current),
  });
  return { r, set: (next: TenantRoute | null) => (current = next), loads: () => loads };
}

const read = { mode: "s" as const, readOnly: false, write: false };

describe("IsolationRouter", () => {
  it("loads once, then answers from the cache synchronously", async () => {
    const { r, loads } = router(60_000);
    expect(r.cachedScope(ID, read)).toBeUndefined();
    expect((await r.scope(ID, read)).strategy).toBe("SHARED_RLS");
    expect(r.cachedScope(ID, read)?.strategy).toBe("SHARED_RLS");
    expect(loads()).toBe(1);
  });

  it("serves an expired route once more while the fresh one loads behind it", async () => {
    const { r, set, loads } = router(1);
    await r.scope(ID, read);
    set(route("SCHEMA"));
    await new Promise((res) => setTimeout(res, 5));
    expect(r.cachedScope(ID, read)?.strategy).toBe("SHARED_RLS"); // stale, refresh started
    await new Promise((res) => setTimeout(res, 5));
    expect(r.cachedScope(ID, read)?.strategy).toBe("SCHEMA");
    expect(loads()).toBeGreaterThanOrEqual(2);
  });

  it("forget() makes the next call read the route again, and a vanished tenant is TENANT_NOT_FOUND", async () => {
    const { r, set } = router(60_000);
    await r.scope(ID, read);
    set(route("SHARED_RLS", "archived"));
    r.forget(ID);
    const archived = await r.scope(ID, read).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStratumError(archived, "TENANT_ARCHIVED")).toBe(true);
    set(null);
    r.forget(ID);
    const gone = await r.scope(ID, read).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStratumError(gone, "TENANT_NOT_FOUND")).toBe(true);
  });

  it("with loadMany, expired routes of many tenants refresh together in one query; forgotten ones stay forgotten", async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `11111111-1111-4111-8111-${String(i).padStart(12, "0")}`);
    const strategyOf = new Map(ids.map((id) => [id, "SHARED_RLS" as TenantRoute["isolation_strategy"]]));
    const batches: string[][] = [];
    const r = new IsolationRouter({
      strategies: buildStrategies(["users"]),
      sign: (id, mode) => `${id}.${mode}.${"0".repeat(64)}`,
      ttlMs: 20,
      load: async (id) => ({ id, slug: "t", status: "active", isolation_strategy: strategyOf.get(id)!, placement: null }),
      loadMany: async (wanted) => {
        batches.push(wanted);
        return wanted
          .filter((id) => strategyOf.has(id))
          .map((id) => ({ id, slug: `s_${id.slice(-4)}`, status: "active", isolation_strategy: strategyOf.get(id)!, placement: `s_${id.slice(-4)}` }));
      },
    });
    for (const id of ids) await r.scope(id, read);
    for (const id of ids.slice(0, 10)) strategyOf.set(id, "SCHEMA");
    strategyOf.delete(ids[10]!);
    await new Promise((res) => setTimeout(res, 30));
    r.forget(ids[11]);
    for (const id of ids) r.cachedScope(id, read); // every one expired: one refresh for all
    await new Promise((res) => setTimeout(res, 5));
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(49); // all but the forgotten one
    for (const id of ids.slice(0, 10)) expect(r.cachedScope(id, read)?.strategy).toBe("SCHEMA");
    expect(r.cachedScope(ids[12]!, read)?.strategy).toBe("SHARED_RLS");
    expect(r.cachedScope(ids[11]!, read)).toBeUndefined();
    const gone = await r.scope(ids[10]!, read).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStratumError(gone, "TENANT_NOT_FOUND")).toBe(true);
  });

  it("builds one scope per cached route and request kind; the checks before it run on every call", async () => {
    const { r, set } = router(60_000);
    const first = await r.scope(ID, read);
    // Every scoped statement asks for its scope: the same object comes back while the route holds.
    expect(r.cachedScope(ID, read)).toBe(first);
    expect(r.cachedScope(ID, { ...read, write: true })).toBe(first);
    const readOnly = r.cachedScope(ID, { ...read, readOnly: true })!;
    expect(readOnly).not.toBe(first);
    expect(readOnly.readOnly).toBe(true);
    expect(r.cachedScope(ID, { mode: "d", readOnly: true, write: false })?.token).toBe(`${ID}.d.${"0".repeat(64)}`);
    // A freeze is not part of the route: the write is refused although its scope was built.
    r.freeze(ID);
    expect(() => r.cachedScope(ID, { ...read, write: true })).toThrow(/moving between isolation strategies/);
    r.thaw(ID);
    // A reloaded route builds its scopes again.
    set(route("SCHEMA"));
    r.forget(ID);
    const moved = await r.scope(ID, read);
    expect(moved).not.toBe(first);
    expect(moved.strategy).toBe("SCHEMA");
    expect(r.cachedScope(ID, read)).toBe(moved);
  });

  it("refuses writes while frozen (a move in this process) and for suspended tenants", async () => {
    const { r, set } = router(60_000);
    r.freeze(ID);
    const frozen = await r.scope(ID, { ...read, write: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStratumError(frozen, "ISOLATION_MOVE_IN_PROGRESS")).toBe(true);
    expect((await r.scope(ID, read)).tenantId).toBe(ID);
    r.thaw(ID);
    set(route("SHARED_RLS", "suspended"));
    r.forget(ID);
    const suspended = await r.scope(ID, { ...read, write: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStratumError(suspended, "TENANT_SUSPENDED")).toBe(true);
  });

  it("builds a subtree's descendants sources once per cached subtree, again after forget() or a new batch size", async () => {
    const members: SubtreeMember[] = [
      { id: ID, slug: "acme", isolation_strategy: "SHARED_RLS", placement: null },
      ...Array.from({ length: 5 }, (_, i) => ({
        id: `2222222${i}-2222-4222-8222-222222222222`,
        slug: `c${i}`,
        isolation_strategy: "SCHEMA" as const,
        placement: `t_c${i}`,
      })),
    ];
    let subtreeLoads = 0;
    const r = new IsolationRouter({
      strategies: buildStrategies(["users"]),
      sign: (id, mode) => `${id}.${mode}.${"0".repeat(64)}`,
      ttlMs: 60_000,
      load: async () => route("SHARED_RLS"),
      loadSubtree: async () => (subtreeLoads++, [...members]), // a fresh array per load, as from the database
      tables: [{ table: "users", columns: ["id", "tenant_id"] }],
    });
    const d = { mode: "d" as const, readOnly: true, write: false };
    const first = await r.scope(ID, d);
    expect(first.tableSources?.get("users")).toContain('"t_c4"."stratum_d_users"');
    expect(r.cachedScope(ID, d)?.tableSources).toBe(first.tableSources);
    expect((await r.scope(ID, d)).tableSources).toBe(first.tableSources);
    try {
      setHomeBatchSize(2);
      const batched = r.cachedScope(ID, d) as DescendantScope | undefined;
      expect(batched?.tableSources).not.toBe(first.tableSources);
      expect(batched?.homeBatches).toHaveLength(3);
    } finally {
      setHomeBatchSize(DEFAULT_HOME_BATCH);
    }
    r.forget();
    const again = await r.scope(ID, d);
    expect(subtreeLoads).toBe(2);
    expect(again.tableSources).not.toBe(first.tableSources);
    expect(again.tableSources?.get("users")).toBe(first.tableSources?.get("users"));
  });
});
