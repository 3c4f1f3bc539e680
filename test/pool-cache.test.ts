/** The tenant-database pool LRU: bounded, evicting only idle pools, never one in use. */
import { describe, expect, it } from "vitest";
import type { SqlDriverAdapter } from "@prisma/driver-adapter-utils";
import { PoolCache } from "../src/isolation/pool-cache.js";

function fakeCache(maxPools: number) {
  const closed: string[] = [];
  const opened: string[] = [];
  const cache = new PoolCache({
    maxPools,
    open: async (placement) => {
      opened.push(placement);
      return { adapter: { adapterName: placement } as unknown as SqlDriverAdapter, close: async () => void closed.push(placement) };
    },
  });
  return { cache, closed, opened };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("PoolCache", () => {
  it("reuses an open pool and evicts the least recently used idle one past the bound", async () => {
    const { cache, closed, opened } = fakeCache(2);
    (await cache.acquire("s/a")).release();
    (await cache.acquire("s/b")).release();
    (await cache.acquire("s/a")).release(); // a is now more recent than b
    (await cache.acquire("s/c")).release();
    await tick();
    expect(opened).toEqual(["s/a", "s/b", "s/c"]);
    expect(closed).toEqual(["s/b"]);
    expect(cache.keys().sort()).toEqual(["s/a", "s/c"]);
  });

  it("never evicts a pool with a lease in flight; shrinks back once it ends", async () => {
    const { cache, closed } = fakeCache(1);
    const busy = await cache.acquire("s/busy");
    const other = await cache.acquire("s/other");
    await tick();
    expect(closed).toEqual([]); // both leased: the cache grows past its bound for now
    other.release();
    await tick();
    expect(closed).toEqual(["s/other"]);
    expect(cache.keys()).toEqual(["s/busy"]);
    busy.release();
    busy.release(); // a double release must not drive the count negative
    (await cache.acquire("s/third")).release();
    await tick();
    expect(closed).toEqual(["s/other", "s/busy"]);
  });

  it("forgets a pool that failed to open, so the next acquire retries", async () => {
    let attempts = 0;
    const cache = new PoolCache({
      maxPools: 2,
      open: async () => {
        attempts++;
        if (attempts === 1) throw new Error("server down");
        return { adapter: {} as SqlDriverAdapter, close: async () => undefined };
      },
    });
    await expect(cache.acquire("s/x")).rejects.toThrow("server down");
    await expect(cache.acquire("s/x")).resolves.toBeDefined();
    expect(attempts).toBe(2);
  });
});
