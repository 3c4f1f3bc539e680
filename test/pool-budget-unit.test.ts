/**
 * The tenant-database pools under a connection budget (tenant-pools.ts), on stand-in pools: the
 * cap per server holds, callers queue for it instead of failing, idle pools make room least
 * recently used first, a pool in use never does, and a caller that waits too long gets a typed
 * error. test/pool-budget.test.ts drives the same code against two real PostgreSQL servers.
 */
import { describe, expect, it } from "vitest";
import type { SqlDriverAdapter } from "@prisma/driver-adapter-utils";
import { isStratumError } from "../src/index.js";
import { ServerBudget, capFromSettings, configuredCap } from "../src/isolation/connection-budget.js";
import { TenantPools, type TenantPool } from "../src/isolation/tenant-pools.js";

/** A stand-in pool whose connections are its slots: setMax(n) "opens" up to n. */
function fakePools(options: { cap: number; perTenant?: number; waitMs?: number }) {
  const open = new Map<string, number>();
  const closed: string[] = [];
  const listeners = new Map<string, () => void>();
  let peakTotal = 0;
  const total = (server: string) => [...open.entries()].filter(([p]) => p.startsWith(`${server}/`)).reduce((n, [, c]) => n + c, 0);
  const pools = new TenantPools({
    perTenant: options.perTenant ?? 1,
    waitMs: options.waitMs ?? 5_000,
    capOf: async () => options.cap,
    open: async (placement): Promise<TenantPool> => ({
      adapter: { adapterName: placement } as unknown as SqlDriverAdapter,
      setMax: (n) => {
        open.set(placement, n);
        peakTotal = Math.max(peakTotal, total(placement.split("/")[0]!));
      },
      openConnections: () => open.get(placement) ?? 0,
      onClosed: (listener) => listeners.set(placement, listener),
      close: async () => {
        open.delete(placement);
        closed.push(placement);
      },
    }),
  });
  /** A connection of `placement` closes by itself (idle timeout, server restart). */
  const dropConnection = (placement: string) => {
    open.set(placement, (open.get(placement) ?? 1) - 1);
    listeners.get(placement)?.();
  };
  return { pools, closed, peak: () => peakTotal, dropConnection };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("TenantPools", () => {
  it("keeps a server at its cap: the next tenant waits, then takes the least recently used idle pool's place", async () => {
    const { pools, closed, peak } = fakePools({ cap: 2 });
    (await pools.acquire("s/a")).release();
    (await pools.acquire("s/b")).release();
    (await pools.acquire("s/a")).release(); // b is now the least recently used
    const c = await pools.acquire("s/c");
    expect(closed).toEqual(["s/b"]);
    expect(pools.keys().sort()).toEqual(["s/a", "s/c"]);
    expect(peak()).toBe(2);
    c.release();
    expect(pools.stats().servers.s).toMatchObject({ cap: 2, inUse: 2, peak: 2, waiting: 0 });
  });

  it("never closes a pool in use: the caller waits until a lease ends, then gets the freed slot", async () => {
    const { pools, closed } = fakePools({ cap: 1 });
    const busy = await pools.acquire("s/busy");
    let served = false;
    const waiting = pools.acquire("s/other").then((lease) => {
      served = true;
      return lease;
    });
    await settle();
    expect(served).toBe(false); // no idle pool to close: it queues instead of evicting "busy"
    expect(closed).toEqual([]);
    expect(pools.stats().servers.s?.waiting).toBe(1);
    busy.release();
    const other = await waiting;
    expect(closed).toEqual(["s/busy"]);
    other.release();
  });

  it("a caller that waits past waitMs gets CONNECTION_BUDGET_EXHAUSTED, and the budget is whole after", async () => {
    const { pools } = fakePools({ cap: 1, waitMs: 50 });
    const busy = await pools.acquire("s/busy");
    const error = await pools.acquire("s/late").catch((e: unknown) => e);
    expect(isStratumError(error, "CONNECTION_BUDGET_EXHAUSTED")).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ server: "s", cap: 1, waitMs: 50 });
    busy.release();
    (await pools.acquire("s/late")).release();
    expect(pools.stats().servers.s).toMatchObject({ inUse: 1, peak: 1, waiting: 0 });
  });

  it("budgets each server apart, and grows a busy pool only with slots nobody waits for", async () => {
    const { pools } = fakePools({ cap: 3, perTenant: 2 });
    const [a1, a2] = await Promise.all([pools.acquire("s1/a"), pools.acquire("s1/a")]);
    expect(pools.stats().servers.s1?.inUse).toBe(2); // two callers at once: a second connection
    const others = await Promise.all([pools.acquire("s2/x"), pools.acquire("s2/y"), pools.acquire("s2/z")]);
    expect(pools.stats().servers.s2?.inUse).toBe(3);
    const a3 = await pools.acquire("s1/a"); // perTenant 2: shares a's connections, takes no third
    expect(pools.stats().servers.s1?.inUse).toBe(2);
    for (const lease of [a1!, a2!, a3, ...others]) lease.release();
  });

  it("a connection an unused pool lost by itself goes back to the budget at once; a pool in use keeps its slot", async () => {
    const { pools, dropConnection } = fakePools({ cap: 2 });
    (await pools.acquire("s/idle")).release();
    const busy = await pools.acquire("s/busy");
    expect(pools.stats().servers.s?.inUse).toBe(2);
    dropConnection("s/busy"); // in use: pg opens another within its slot, nothing changes hands
    expect(pools.stats().servers.s?.inUse).toBe(2);
    dropConnection("s/idle");
    await settle();
    expect(pools.stats().servers.s?.inUse).toBe(1);
    expect(pools.keys()).toEqual(["s/busy"]);
    busy.release();
  });

  it("hands a warm pool's lease at once, and nothing else: a cold, closed or evicted pool waits in acquire", async () => {
    const { pools, closed } = fakePools({ cap: 1, perTenant: 2 });
    expect(pools.tryAcquire("s/a")).toBeUndefined(); // never opened
    (await pools.acquire("s/a")).release();
    const warm = pools.tryAcquire("s/a");
    expect(warm?.adapter.adapterName).toBe("s/a");
    // a second lease of the warm pool shares its connection (the budget has no second one free)
    const again = pools.tryAcquire("s/a");
    expect(pools.stats().servers.s).toMatchObject({ inUse: 1, waiting: 0 });
    warm!.release();
    again!.release();
    again!.release(); // releasing twice counts once
    // another tenant needs the only slot: the idle warm pool is closed, and is then cold again
    const b = await pools.acquire("s/b");
    expect(closed).toEqual(["s/a"]);
    expect(pools.tryAcquire("s/a")).toBeUndefined();
    b.release();
    await pools.closeAll();
    expect(pools.tryAcquire("s/b")).toBeUndefined();
  });

  it("concurrent first callers of one tenant share its first slot", async () => {
    const { pools } = fakePools({ cap: 1 });
    const leases = await Promise.all(Array.from({ length: 5 }, () => pools.acquire("s/a")));
    expect(pools.stats().servers.s).toMatchObject({ inUse: 1, peak: 1 });
    for (const lease of leases) lease.release();
  });
});

describe("ServerBudget sizing", () => {
  it("takes the cap from the options, else from max_connections less the reserves", () => {
    expect(configuredCap({ connections: 7 }, "any")).toBe(7);
    expect(configuredCap({ connections: { eu: 4 } }, "eu")).toBe(4);
    expect(configuredCap({ connections: { eu: 4 } }, "us")).toBeUndefined();
    expect(() => configuredCap({ connections: 0 }, "eu")).toThrow(/positive integer/);
    expect(capFromSettings(100, 3)).toBe(87);
    expect(capFromSettings(60, 3, 5)).toBe(52);
    expect(capFromSettings(5, 3)).toBe(1);
  });

  it("serves callers in line in arrival order", async () => {
    const budget = new ServerBudget({ server: "s", cap: 1, waitMs: 5_000, reclaim: () => undefined });
    expect(budget.tryTake()).toBe(true);
    const order: number[] = [];
    const first = budget.take().then(() => order.push(1));
    const second = budget.take().then(() => order.push(2));
    expect(budget.tryTake()).toBe(false); // someone is in line: no jumping it
    budget.give(1);
    await first;
    budget.give(1);
    await second;
    expect(order).toEqual([1, 2]);
  });
});
