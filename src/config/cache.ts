/**
 * In-process cache of resolved results (config, permissions), keyed by tenant.
 *
 * Each entry remembers the ids of the tenant's ancestors (root to self, from its ltree path). A
 * change event for tenant X drops every entry whose chain contains X: a write at X reaches X and
 * all its descendants, and a subtree event (move, archive) reaches every cached descendant the
 * same way. A resolve that raced an invalidation is not stored (generation check), so a stale
 * read can never outlive the event that should have removed it.
 */
import type { ChangeBus, ChangeEvent } from "../core/ports.js";

export interface ResolveCacheOptions {
  /** Safety net for missed events (e.g. a dropped listener connection). Default 60 s. */
  ttlMs?: number;
  /** Bound on entries; the oldest are evicted first. Default 10,000. */
  maxEntries?: number;
}

interface Entry {
  value: unknown;
  chain: ReadonlySet<string>;
  expiresAt: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  invalidations: number;
  size: number;
}

export class ResolveCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private gen = 0;
  private readonly listeners = new Set<(event: ChangeEvent | null) => void>();
  readonly stats: CacheStats = { hits: 0, misses: 0, invalidations: 0, size: 0 };

  constructor(options: ResolveCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Current generation; pass it back to `set` so a resolve that raced an invalidation is dropped. */
  get generation(): number {
    return this.gen;
  }

  get<T>(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= Date.now()) {
      if (entry) this.entries.delete(key);
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return entry.value as T;
  }

  /** Stores `value` for `key` unless an invalidation happened since `generation` was read. */
  set(key: string, value: unknown, chain: readonly string[], generation: number): void {
    if (generation !== this.gen) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, chain: new Set(chain), expiresAt: Date.now() + this.ttlMs });
    this.stats.size = this.entries.size;
  }

  /** Drops every entry whose ancestor chain contains the event's tenant. */
  invalidate(event: ChangeEvent): void {
    this.gen++;
    this.stats.invalidations++;
    for (const [key, entry] of this.entries) {
      if (entry.chain.has(event.tenantId)) this.entries.delete(key);
    }
    this.stats.size = this.entries.size;
    for (const listener of this.listeners) listener(event);
  }

  clear(): void {
    this.gen++;
    this.entries.clear();
    this.stats.size = 0;
    for (const listener of this.listeners) listener(null);
  }

  /** Observes invalidations (null = cleared); for tests and metrics. */
  onInvalidate(listener: (event: ChangeEvent | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Subscribes to a bus; returns the unsubscribe function. When the bus can tell that it lost
   * events (its listener reconnected), the whole cache is cleared.
   */
  attach(bus: ChangeBus): () => void {
    const off = bus.subscribe((event) => this.invalidate(event));
    const reconnectable = bus as ChangeBus & { onReconnect?: (fn: () => void) => () => void };
    const offReconnect = reconnectable.onReconnect?.(() => this.clear());
    return () => {
      off();
      offReconnect?.();
    };
  }
}
