/** The SDK's read cache against the real control plane: hits, misses, TTL, bounds and invalidation by SDK writes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StratumSdk, TenantRecord } from "../../src/sdk/index.js";
import { countingFetch, sdkFixture, sleep, type SdkFixture } from "./support.js";

let f: SdkFixture;
let admin: StratumSdk;

beforeAll(async () => {
  f = await sdkFixture("sdk_cache");
  admin = f.sdk({ cache: false });
});
afterAll(async () => {
  await f?.close();
});

/** root → mid → leaf, plus a sibling of mid. */
async function tree(prefix: string): Promise<{ root: TenantRecord; mid: TenantRecord; leaf: TenantRecord; sibling: TenantRecord }> {
  const root = await admin.tenants.create({ name: `${prefix} root` });
  const mid = await admin.tenants.create({ name: `${prefix} mid`, parent_id: root.id });
  const leaf = await admin.tenants.create({ name: `${prefix} leaf`, parent_id: mid.id });
  const sibling = await admin.tenants.create({ name: `${prefix} sibling`, parent_id: root.id });
  return { root, mid, leaf, sibling };
}

describe("read cache", () => {
  it("serves repeated tenant, config and permission reads from memory, counting hits and misses", async () => {
    const { leaf } = await tree("hits");
    const counter = countingFetch();
    const s = f.sdk({ fetch: counter.fetch });
    for (let i = 0; i < 3; i++) {
      await s.tenants.get(leaf.id);
      await s.config.resolve(leaf.id);
      await s.permissions.resolve(leaf.id);
    }
    expect(counter.calls).toHaveLength(3);
    expect(s.cache.stats()).toEqual({ hits: 6, misses: 3, size: 3 });
    // Concurrent misses share one request.
    s.cache.clear();
    counter.calls.length = 0;
    await Promise.all([s.tenants.get(leaf.id), s.tenants.get(leaf.id), s.tenants.get(leaf.id)]);
    expect(counter.calls).toHaveLength(1);
    expect(s.cache.stats()).toMatchObject({ hits: 0, misses: 3, size: 1 });
  });

  it("hands out copies: a caller mutating its result does not change the cache", async () => {
    const { leaf } = await tree("copies");
    const s = f.sdk();
    const first = await s.tenants.get(leaf.id);
    first.name = "mutated";
    first.path.push("x");
    const second = await s.tenants.get(leaf.id);
    expect(second.name).toBe("copies leaf");
    expect(second.path).toHaveLength(3);
  });

  it("expires entries after ttlMs, and is bounded by max (least recently used goes first)", async () => {
    const { root, mid, leaf } = await tree("ttl");
    const counter = countingFetch();
    const s = f.sdk({ fetch: counter.fetch, cache: { max: 2, ttlMs: 150 } });
    await s.tenants.get(leaf.id);
    await s.tenants.get(leaf.id);
    expect(counter.calls).toHaveLength(1);
    await sleep(250);
    await s.tenants.get(leaf.id);
    expect(counter.calls).toHaveLength(2);

    await s.tenants.get(mid.id);
    await s.tenants.get(leaf.id); // leaf is now the most recently used
    await s.tenants.get(root.id); // evicts mid
    expect(s.cache.stats().size).toBe(2);
    counter.calls.length = 0;
    await s.tenants.get(leaf.id);
    await s.tenants.get(root.id);
    expect(counter.calls).toHaveLength(0);
    await s.tenants.get(mid.id);
    expect(counter.calls).toEqual([`GET /api/v1/tenants/${mid.id}`]);
  });

  it("does not see changes made elsewhere until the TTL or clear(): the cache is the staleness bound", async () => {
    const { leaf } = await tree("stale");
    const s = f.sdk({ cache: { ttlMs: 60_000 } });
    expect(await s.config.resolve(leaf.id)).toEqual({});
    await admin.config.set(leaf.id, "plan", { value: "pro" }); // another client
    expect(await s.config.resolve(leaf.id)).toEqual({});
    s.cache.clear();
    expect((await s.config.resolve(leaf.id)).plan).toMatchObject({ value: "pro" });
    expect(s.cache.stats()).toEqual({ hits: 0, misses: 1, size: 1 });
  });

  it("a config write drops the resolved config of the tenant and everything below it, not its siblings'", async () => {
    const { root, mid, leaf, sibling } = await tree("cfg");
    const counter = countingFetch();
    const s = f.sdk({ fetch: counter.fetch });
    await s.config.set(root.id, "limit", { value: 1 });
    // The leaf's config is cached without its tenant record: its ancestry is unknown to the cache.
    for (const t of [root, mid, leaf, sibling]) expect((await s.config.resolve(t.id)).limit?.value).toBe(1);
    await s.tenants.get(sibling.id); // the sibling's ancestry is known: it is not under mid

    await s.config.set(mid.id, "limit", { value: 2 });
    counter.calls.length = 0;
    expect((await s.config.resolve(mid.id)).limit?.value).toBe(2);
    expect((await s.config.resolve(leaf.id)).limit).toMatchObject({ value: 2, inherited: true, source_tenant_id: mid.id });
    expect((await s.config.resolve(root.id)).limit?.value).toBe(1);
    expect((await s.config.resolve(sibling.id)).limit?.value).toBe(1);
    // mid and leaf were refetched; root (an ancestor) also was, because its ancestry was never seen; the sibling was kept.
    expect(counter.calls).not.toContain(`GET /api/v1/tenants/${sibling.id}/config`);
    expect(counter.calls).toContain(`GET /api/v1/tenants/${leaf.id}/config`);

    await s.config.batch(root.id, [{ key: "limit", value: 3, locked: true }]);
    for (const t of [mid, leaf, sibling]) expect((await s.config.resolve(t.id)).limit).toMatchObject({ value: 3, locked: true, source_tenant_id: root.id });
    await s.config.delete(root.id, "limit");
    expect((await s.config.resolve(leaf.id)).limit?.value).toBe(2);
  });

  it("a permission write drops resolved permissions below it; tenant reads stay cached", async () => {
    const { root, leaf } = await tree("perm");
    const counter = countingFetch();
    const s = f.sdk({ fetch: counter.fetch });
    await s.tenants.get(leaf.id);
    expect(await s.permissions.resolve(leaf.id)).toEqual({});
    await s.permissions.create(root.id, { key: "export", value: true, mode: "INHERITED" });
    expect((await s.permissions.resolve(leaf.id)).export).toMatchObject({ value: true, source_tenant_id: root.id });
    await s.permissions.revoke(root.id, "export");
    expect(await s.permissions.resolve(leaf.id)).toEqual({});
    expect(counter.calls.filter((c) => c === `GET /api/v1/tenants/${leaf.id}`)).toHaveLength(1);
  });

  it("tenant writes drop the subtree's records: moves, status changes, isolation moves and deletes are seen at once", async () => {
    const { root, mid, leaf, sibling } = await tree("tree");
    const s = f.sdk();
    await s.config.set(sibling.id, "region", { value: "us" });
    expect((await s.tenants.get(leaf.id)).path).toEqual([root.id, mid.id, leaf.id]);
    expect(await s.config.resolve(leaf.id)).toEqual({});

    await s.tenants.move(mid.id, sibling.id);
    expect((await s.tenants.get(leaf.id)).path).toEqual([root.id, sibling.id, mid.id, leaf.id]);
    expect((await s.config.resolve(leaf.id)).region).toMatchObject({ value: "us", source_tenant_id: sibling.id });

    await s.tenants.suspend(mid.id);
    expect((await s.tenants.get(mid.id)).status).toBe("suspended");
    await s.tenants.restore(mid.id);
    expect((await s.tenants.get(mid.id)).status).toBe("active");

    await s.isolation.set(leaf.id, { strategy: "SCHEMA" });
    expect((await s.tenants.get(leaf.id)).isolation_strategy).toBe("SCHEMA");

    await s.tenants.delete(mid.id, { cascade: true });
    await expect(s.tenants.get(leaf.id)).rejects.toMatchObject({ code: "TENANT_NOT_FOUND" });
  });

  it("a read in flight during a write neither serves later readers nor lands in the cache", async () => {
    const { leaf } = await tree("race");
    await admin.config.set(leaf.id, "k", { value: 1 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let answered!: () => void;
    const readDone = new Promise<void>((resolve) => (answered = resolve));
    let held = 0;
    const slow: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      // Hold the first config answer: it was read before the write below.
      if ((init?.method ?? "GET") === "GET" && String(input).endsWith("/config") && held++ === 0) {
        answered();
        await gate;
      }
      return res;
    };
    const s = f.sdk({ fetch: slow });
    const before = s.config.resolve(leaf.id);
    await readDone; // the server has answered the first read
    await s.config.set(leaf.id, "k", { value: 2 });
    const after = s.config.resolve(leaf.id);
    expect((await after).k?.value).toBe(2);
    release();
    expect((await before).k?.value).toBe(1);
    expect((await s.config.resolve(leaf.id)).k?.value).toBe(2);
  });

  it("can be turned off", async () => {
    const { leaf } = await tree("off");
    const counter = countingFetch();
    const s = f.sdk({ fetch: counter.fetch, cache: false });
    await s.tenants.get(leaf.id);
    await s.tenants.get(leaf.id);
    expect(counter.calls).toHaveLength(2);
    expect(s.cache.stats()).toEqual({ hits: 0, misses: 2, size: 0 });
  });
});
