/**
 * The SDK's read cache: tenant records, resolved config and resolved permissions, in one LRU
 * bounded by entry count with a TTL. The TTL is what bounds staleness for changes made by anyone
 * else; writes made through this SDK invalidate at once.
 *
 * Config and permissions inherit down the tree, so a write at a tenant invalidates the entries of
 * every cached tenant below it. The cache knows a tenant's ancestors from its `path` when the
 * tenant record has passed through the SDK; an entry whose ancestry is unknown is dropped too,
 * because it might lie below.
 */
import { LRUCache } from "lru-cache";
import { StratumError } from "../core/errors.js";

export interface CacheOptions {
  /** Entries kept (tenants, resolved config and resolved permissions together); default 1000. */
  max?: number;
  /** How long an entry is served, default 30 000 ms. */
  ttlMs?: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries held now. */
  size: number;
}

export type CacheKind = "tenant" | "config" | "permissions";
const ALL_KINDS: readonly CacheKind[] = ["tenant", "config", "permissions"];

export interface SdkCache {
  /** The cached value, or `load()`'s (stored for next time). Concurrent misses share one load. */
  read<T>(kind: CacheKind, tenantId: string, load: () => Promise<T>): Promise<T>;
  /** Records where a tenant sits (from any tenant record the SDK sees). */
  rememberPath(tenant: { id: string; path: string[] }): void;
  /** Drops `kinds` entries of the tenant and of every cached tenant that is (or may be) below it. */
  invalidateSubtree(tenantId: string, kinds?: readonly CacheKind[]): void;
  clear(): void;
  stats(): CacheStats;
}

interface Entry {
  value: unknown;
}

const keyOf = (kind: CacheKind, tenantId: string) => `${kind}:${tenantId}`;

function parseKey(key: string): { kind: CacheKind; tenantId: string } {
  const at = key.indexOf(":");
  return { kind: key.slice(0, at) as CacheKind, tenantId: key.slice(at + 1) };
}

export function createCache(options: CacheOptions | false | undefined): SdkCache {
  const enabled = options !== false;
  const max = (options === false ? undefined : options?.max) ?? 1000;
  const ttl = (options === false ? undefined : options?.ttlMs) ?? 30_000;
  if (!Number.isInteger(max) || max < 1) throw new StratumError("VALIDATION_FAILED", "cache.max must be a positive integer", { field: "cache.max" });
  if (!(ttl > 0)) throw new StratumError("VALIDATION_FAILED", "cache.ttlMs must be positive", { field: "cache.ttlMs" });

  const entries = new LRUCache<string, Entry>({ max, ttl });
  // Ancestry outlives the entries it explains (a config entry may be cached without its tenant), so it has its own bound.
  const paths = new LRUCache<string, string[]>({ max: max * 2 });
  const inflight = new Map<string, { promise: Promise<unknown>; epoch: number }>();
  let hits = 0;
  let misses = 0;
  // Bumped by every invalidation: a load that started before one must not store what it read.
  let epoch = 0;

  function store(key: string, value: unknown, startedAt: number): void {
    if (epoch !== startedAt) return;
    entries.set(key, { value: structuredClone(value) });
  }

  return {
    async read<T>(kind: CacheKind, tenantId: string, load: () => Promise<T>): Promise<T> {
      if (!enabled) {
        misses++;
        return load();
      }
      const key = keyOf(kind, tenantId);
      const cached = entries.get(key);
      if (cached) {
        hits++;
        // A copy: a caller mutating its result must not change what the next caller gets.
        return structuredClone(cached.value) as T;
      }
      misses++;
      const pending = inflight.get(key);
      // Joining a load that began before an invalidation would hand out what the write just replaced.
      if (pending && pending.epoch === epoch) return structuredClone(await pending.promise) as T;
      const startedAt = epoch;
      const promise = load().then((value) => {
        store(key, value, startedAt);
        return value;
      });
      const flight = { promise, epoch: startedAt };
      inflight.set(key, flight);
      try {
        return await promise;
      } finally {
        if (inflight.get(key) === flight) inflight.delete(key);
      }
    },

    rememberPath(tenant) {
      paths.set(tenant.id, tenant.path);
    },

    invalidateSubtree(tenantId, kinds = ALL_KINDS) {
      epoch++;
      for (const key of [...entries.keys()]) {
        const { kind, tenantId: id } = parseKey(key);
        if (!kinds.includes(kind)) continue;
        if (id === tenantId) {
          entries.delete(key);
          continue;
        }
        const path = paths.get(id);
        if (!path || path.includes(tenantId)) entries.delete(key);
      }
      // A tree change (move, delete) makes the subtree's remembered ancestry wrong: forget it, so it counts as unknown.
      if (kinds.includes("tenant")) {
        for (const [id, path] of [...paths.entries()]) if (path.includes(tenantId)) paths.delete(id);
      }
    },

    clear() {
      epoch++;
      entries.clear();
      hits = 0;
      misses = 0;
    },

    stats() {
      return { hits, misses, size: entries.size };
    },
  };
}
