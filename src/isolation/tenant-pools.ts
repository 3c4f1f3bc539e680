/**
 * Tenant-database pools under a connection budget per server (connection-budget.ts): many small
 * pools, one per tenant database, that together never hold more connections on a server than its
 * cap. A pool holds "slots" (connections it may open): its first slot is waited for, more are taken
 * only while the budget has them free, up to `perTenant`. When a server's budget is spent, callers
 * queue and the least recently used pools that nobody is using are closed to make room.
 *
 * A pool with a lease (a statement or an open transaction) is pinned: it is never closed and its
 * slots are never taken, so no query is cut off to serve another tenant. Eviction closes idle
 * connections only. A pool whose connections all closed by themselves (idle timeout, a restarted
 * server) hands its slots back without waiting for pressure.
 */
import type { SqlDriverAdapter } from "@prisma/driver-adapter-utils";
import type pg from "pg";
import { StratumError } from "../core/errors.js";
import { capFromSettings, configuredCap, SERVER_LIMITS_SQL, ServerBudget, type BudgetSizing } from "./connection-budget.js";

/** One tenant database's pool, as the cache drives it. */
export interface TenantPool {
  adapter: SqlDriverAdapter;
  /** How many connections the pool may open (its slots). */
  setMax(n: number): void;
  /** Connections open now: from connected until their socket closed. */
  openConnections(): number;
  /** `listener` runs whenever one of the pool's connections has closed. */
  onClosed(listener: () => void): void;
  /** Closes the pool; resolves once every connection it had is closed. */
  close(): Promise<void>;
}

export interface TenantPoolsOptions {
  /** Most connections one tenant database's pool may hold. */
  perTenant: number;
  /** How long a caller waits for a slot before CONNECTION_BUDGET_EXHAUSTED. */
  waitMs: number;
  /** The cap of a server, given the first placement used on it (may ask the server). */
  capOf(server: string, placement: string): Promise<number>;
  /** A pool for a placement, opening no connection yet. */
  open(placement: string): Promise<TenantPool>;
}

interface Entry {
  placement: string;
  server: string;
  ready: Promise<TenantPool>;
  pool?: TenantPool;
  leases: number;
  slots: number;
  /** The first slot, while it is being waited for (concurrent first callers share it). */
  firstSlot?: Promise<void>;
  lastUsed: number;
  evicting: boolean;
}

export interface TenantPoolStats {
  pools: number;
  /** Idle pools closed to make room for another tenant. */
  evictions: number;
  /** Pools dropped after their connections closed by themselves (idle timeout, server restart). */
  idleClosed: number;
  servers: Record<string, { cap: number; inUse: number; peak: number; waiting: number }>;
}

export interface Lease {
  adapter: SqlDriverAdapter;
  release: () => void;
}

export function serverOf(placement: string): string {
  const slash = placement.indexOf("/");
  return slash === -1 ? "" : placement.slice(0, slash);
}

export class TenantPools {
  private readonly entries = new Map<string, Entry>();
  private readonly budgets = new Map<string, Promise<ServerBudget>>();
  private readonly ready = new Map<string, ServerBudget>();
  /** Slots of pools being closed per server, already promised to the callers in line. */
  private readonly incoming = new Map<string, number>();
  private clock = 0;
  private evictions = 0;
  private idleClosed = 0;
  private closed = false;

  constructor(private readonly options: TenantPoolsOptions) {
    if (!Number.isInteger(options.perTenant) || options.perTenant < 1) {
      throw new StratumError("VALIDATION_FAILED", `poolSize (connections per tenant database) must be a positive integer (got ${options.perTenant}).`);
    }
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  stats(): TenantPoolStats {
    const servers: TenantPoolStats["servers"] = {};
    for (const [name, budget] of this.ready) servers[name] = { cap: budget.cap, ...budget.stats() };
    return { pools: this.entries.size, evictions: this.evictions, idleClosed: this.idleClosed, servers };
  }

  async acquire(placement: string): Promise<Lease> {
    if (this.closed)
      throw new StratumError("CONNECTION_LOST", "The tenant-database pools are closed (the client was disconnected).", { mayHaveCommitted: false });
    const server = serverOf(placement);
    const budget = await this.budgetOf(server, placement);
    const entry = this.entries.get(placement) ?? this.create(placement, server);
    entry.leases++;
    entry.lastUsed = ++this.clock;
    try {
      const pool = await entry.ready;
      await this.ensureSlot(entry, pool, budget);
      return this.leaseOf(entry, pool, budget);
    } catch (error) {
      this.release(entry, budget);
      throw error;
    }
  }

  /**
   * A lease at once, when nothing needs waiting for: the pool is open, holds a slot and its
   * server's budget is known — a warm tenant's every statement. Otherwise undefined: `acquire`.
   * Spares the hot path acquire's awaits (each a promise AsyncLocalStorage's hooks pay for).
   */
  tryAcquire(placement: string): Lease | undefined {
    const entry = this.entries.get(placement);
    if (this.closed || !entry?.pool || entry.slots === 0 || entry.evicting) return undefined;
    const budget = this.ready.get(entry.server);
    if (!budget) return undefined;
    entry.leases++;
    entry.lastUsed = ++this.clock;
    this.growIfFree(entry, entry.pool, budget);
    return this.leaseOf(entry, entry.pool, budget);
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const reason = new StratumError("CONNECTION_LOST", "The tenant-database pools were closed while this call waited for a connection.", {
      mayHaveCommitted: false,
    });
    for (const budget of this.ready.values()) budget.abandon(reason);
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.ready.then((p) => p.close()).catch(() => undefined)));
  }

  private budgetOf(server: string, placement: string): Promise<ServerBudget> {
    let budget = this.budgets.get(server);
    if (!budget) {
      budget = this.options.capOf(server, placement).then((cap) => {
        const made = new ServerBudget({ server, cap, waitMs: this.options.waitMs, reclaim: () => this.reclaim(server) });
        this.ready.set(server, made);
        return made;
      });
      this.budgets.set(server, budget);
      // A server that could not be asked (down, unknown) is asked again by the next call.
      budget.catch(() => this.budgets.delete(server));
    }
    return budget;
  }

  private create(placement: string, server: string): Entry {
    const entry: Entry = { placement, server, ready: this.options.open(placement), leases: 0, slots: 0, lastUsed: 0, evicting: false };
    this.entries.set(placement, entry);
    entry.ready.then(
      (pool) => {
        entry.pool = pool;
        pool.onClosed(() => this.shrinkIdle(entry));
      },
      () => this.forget(entry),
    );
    return entry;
  }

  private leaseOf(entry: Entry, pool: TenantPool, budget: ServerBudget): Lease {
    let released = false;
    return {
      adapter: pool.adapter,
      release: () => {
        if (released) return;
        released = true;
        this.release(entry, budget);
      },
    };
  }

  private async ensureSlot(entry: Entry, pool: TenantPool, budget: ServerBudget): Promise<void> {
    if (entry.slots === 0) {
      entry.firstSlot ??= budget.take().then(
        () => {
          entry.firstSlot = undefined;
          entry.slots = 1;
          pool.setMax(1);
        },
        (error: unknown) => {
          entry.firstSlot = undefined;
          throw error;
        },
      );
      await entry.firstSlot;
    }
    this.growIfFree(entry, pool, budget);
  }

  /**
   * More callers than connections: one more connection if the budget has one free right now;
   * otherwise they share the pool's connections (pg queues them) rather than wait for budget.
   */
  private growIfFree(entry: Entry, pool: TenantPool, budget: ServerBudget): void {
    if (entry.leases > entry.slots && entry.slots < this.options.perTenant && budget.tryTake()) {
      entry.slots++;
      pool.setMax(entry.slots);
    }
  }

  private release(entry: Entry, budget: ServerBudget): void {
    entry.leases--;
    if (entry.leases === 0) {
      if (entry.slots === 0 && !entry.firstSlot) this.forget(entry);
      else if (budget.waiting > 0) this.reclaim(entry.server);
    }
  }

  /** Closes least recently used idle pools of `server` until the callers in line are covered. */
  private reclaim(server: string): void {
    const budget = this.ready.get(server);
    if (!budget) return;
    while (budget.waiting > (this.incoming.get(server) ?? 0)) {
      const victim = this.idlest(server);
      if (!victim) return; // every pool is in use: the line waits for a lease to end
      this.evictions++;
      this.evict(victim, budget);
    }
  }

  private idlest(server: string): Entry | undefined {
    let found: Entry | undefined;
    for (const e of this.entries.values()) {
      if (e.server !== server || e.leases > 0 || e.slots === 0 || e.evicting || !e.pool) continue;
      if (!found || e.lastUsed < found.lastUsed) found = e;
    }
    return found;
  }

  private evict(entry: Entry, budget: ServerBudget): void {
    entry.evicting = true;
    this.forget(entry);
    const slots = entry.slots;
    this.incoming.set(entry.server, (this.incoming.get(entry.server) ?? 0) + slots);
    void entry
      .pool!.close()
      .catch(() => undefined)
      .then(() => {
        this.incoming.set(entry.server, (this.incoming.get(entry.server) ?? 0) - slots);
        entry.slots = 0;
        budget.give(slots);
      });
  }

  /**
   * A connection of an unused pool closed by itself: its slot goes back to the budget at once.
   * A pool left with no connection is dropped (the next call opens a new one).
   */
  private shrinkIdle(entry: Entry): void {
    const budget = this.ready.get(entry.server);
    if (!budget || entry.evicting || entry.leases > 0 || !entry.pool) return;
    const open = entry.pool.openConnections();
    if (open >= entry.slots) return;
    if (open === 0) {
      this.idleClosed++;
      this.evict(entry, budget);
      return;
    }
    const freed = entry.slots - open;
    entry.slots = open;
    entry.pool.setMax(open);
    budget.give(freed);
  }

  private forget(entry: Entry): void {
    if (this.entries.get(entry.placement) === entry) this.entries.delete(entry.placement);
  }
}

/**
 * Counts a pg Pool's open connections and closes it completely: pool.end() resolves once its
 * clients are removed, before their sockets have closed; pg-pool emits "remove" after that.
 */
function countedPool(pool: pg.Pool) {
  let open = 0;
  const listeners: Array<() => void> = [];
  const drained: Array<() => void> = [];
  pool.on("connect", () => {
    open++;
  });
  pool.on("remove", () => {
    open--;
    if (open === 0) for (const done of drained.splice(0)) done();
    for (const listener of listeners) listener();
  });
  return {
    open: () => open,
    onClosed: (listener: () => void) => listeners.push(listener),
    async close(): Promise<void> {
      await pool.end();
      if (open > 0) await new Promise<void>((resolve) => drained.push(resolve));
    },
  };
}

/** A TenantPool over a pg Pool (a StratumPool): slots are its `max`. */
export function pgTenantPool(pool: pg.Pool, adapter: SqlDriverAdapter): TenantPool {
  const counted = countedPool(pool);
  return {
    adapter,
    setMax: (n) => {
      pool.options.max = n;
    },
    openConnections: counted.open,
    onClosed: counted.onClosed,
    close: counted.close,
  };
}

/** stratumAdapter's `connectionBudget`: caps per server, and how long callers wait for one. */
export interface ConnectionBudgetOptions extends BudgetSizing {
  /** How long a call waits for a connection of the budget before CONNECTION_BUDGET_EXHAUSTED. Default 10 000 ms. */
  waitMs?: number;
  /**
   * An unused connection of a tenant pool closes (and returns to the budget) after this long.
   * Default 300 000 ms: the budget already bounds connections and closes idle pools under
   * pressure, so closing them sooner only makes a tenant read every few seconds pay a reconnect.
   */
  idleMs?: number;
}

export interface TenantDatabasePoolsOptions {
  connectionBudget?: ConnectionBudgetOptions;
  /** Connections per tenant database at most. Default 5. */
  poolSize?: number;
  /** Legacy bound: without `connectionBudget.connections`, a server's cap is maxPools × poolSize. */
  maxPools?: number;
}

/**
 * The DATABASE tenants' pools of stratumAdapter. `newPool` builds the (scoped) pg pool of a
 * placement with the given max and idle timeout; `connect` wraps it in Prisma's adapter. A server
 * with no cap configured is asked its max_connections once, on a pool of one connection that is
 * closed before any tenant pool opens.
 */
export function tenantDatabasePools(
  options: TenantDatabasePoolsOptions,
  newPool: (placement: string, config: { max: number; idleTimeoutMillis: number }) => pg.Pool,
  connect: (pool: pg.Pool) => Promise<SqlDriverAdapter>,
): TenantPools {
  const budget = options.connectionBudget ?? {};
  const perTenant = options.poolSize ?? 5;
  const idleTimeoutMillis = budget.idleMs ?? 300_000;
  return new TenantPools({
    perTenant,
    waitMs: budget.waitMs ?? 10_000,
    async capOf(server, placement) {
      const configured = configuredCap(budget, server);
      if (configured !== undefined) return configured;
      if (options.maxPools !== undefined) return options.maxPools * perTenant;
      const probe = newPool(placement, { max: 1, idleTimeoutMillis });
      const counted = countedPool(probe);
      try {
        const { rows } = await probe.query(SERVER_LIMITS_SQL);
        const limits = rows[0] as { max_connections: number; superuser_reserved: number };
        return capFromSettings(limits.max_connections, limits.superuser_reserved, budget.reserve);
      } finally {
        await counted.close().catch(() => undefined);
      }
    },
    async open(placement) {
      const pool = newPool(placement, { max: 1, idleTimeoutMillis });
      return pgTenantPool(pool, await connect(pool));
    },
  });
}
