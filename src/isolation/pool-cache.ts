/**
 * A bounded LRU of tenant-database pools. A pool is evicted only while idle: a lease (a statement
 * or an open transaction) pins it. When every pool is busy the cache grows past its bound for a
 * moment and shrinks again as leases end, rather than cutting off a query in flight.
 */
import type { SqlDriverAdapter } from "@prisma/driver-adapter-utils";

interface OpenPool {
  adapter: SqlDriverAdapter;
  close: () => Promise<void>;
}

interface Entry {
  ready: Promise<OpenPool>;
  leases: number;
  lastUsed: number;
}

export interface PoolCacheOptions {
  maxPools: number;
  open: (placement: string) => Promise<OpenPool>;
}

export class PoolCache {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;

  constructor(private readonly options: PoolCacheOptions) {}

  keys(): string[] {
    return [...this.entries.keys()];
  }

  async acquire(placement: string): Promise<{ adapter: SqlDriverAdapter; release: () => void }> {
    let entry = this.entries.get(placement);
    if (!entry) {
      entry = { ready: this.options.open(placement), leases: 0, lastUsed: 0 };
      this.entries.set(placement, entry);
      entry.ready.catch(() => this.entries.delete(placement));
    }
    entry.leases++;
    entry.lastUsed = ++this.clock;
    const current = entry;
    try {
      const pool = await current.ready;
      this.evictIdle();
      let released = false;
      return {
        adapter: pool.adapter,
        release: () => {
          if (released) return;
          released = true;
          current.leases--;
          this.evictIdle();
        },
      };
    } catch (error) {
      current.leases--;
      throw error;
    }
  }

  /** Closes least recently used idle pools until the cache is within its bound. */
  private evictIdle(): void {
    if (this.entries.size <= this.options.maxPools) return;
    const idle = [...this.entries.entries()].filter(([, e]) => e.leases === 0).sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    for (const [key, entry] of idle) {
      if (this.entries.size <= this.options.maxPools) break;
      this.entries.delete(key);
      void entry.ready.then((pool) => pool.close()).catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.ready.then((p) => p.close()).catch(() => undefined)));
  }
}
