/** The route cache: expired routes keep serving while a fresh one loads; forget() applies at once. */
import { describe, expect, it } from "vitest";
import { isStratumError } from "../src/core/errors.js";
import { buildStrategies } from "../src/extension/strategies.js";
import { IsolationRouter } from "../src/isolation/router.js";
import type { TenantRoute } from "../src/isolation/strategy.js";

const ID = "11111111-1111-4111-8111-111111111111";
const route = (strategy: TenantRoute["isolation_strategy"], status = "active"): TenantRoute => ({ id: ID, slug: "acme", status, isolation_strategy: strategy, placement: strategy === "SCHEMA" ? "acme" : null });

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
    const archived = await r.scope(ID, read).then(() => null, (e: unknown) => e);
    expect(isStratumError(archived, "TENANT_ARCHIVED")).toBe(true);
    set(null);
    r.forget(ID);
    const gone = await r.scope(ID, read).then(() => null, (e: unknown) => e);
    expect(isStratumError(gone, "TENANT_NOT_FOUND")).toBe(true);
  });

  it("refuses writes while frozen (a move in this process) and for suspended tenants", async () => {
    const { r, set } = router(60_000);
    r.freeze(ID);
    const frozen = await r.scope(ID, { ...read, write: true }).then(() => null, (e: unknown) => e);
    expect(isStratumError(frozen, "ISOLATION_MOVE_IN_PROGRESS")).toBe(true);
    expect((await r.scope(ID, read)).tenantId).toBe(ID);
    r.thaw(ID);
    set(route("SHARED_RLS", "suspended"));
    r.forget(ID);
    const suspended = await r.scope(ID, { ...read, write: true }).then(() => null, (e: unknown) => e);
    expect(isStratumError(suspended, "TENANT_SUSPENDED")).toBe(true);
  });
});
