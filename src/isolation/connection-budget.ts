/**
 * One server's connection budget: at most `cap` connections of this process's tenant-database
 * pools are open on it at once. A slot is one connection, counted from before it is opened until
 * it is closed (its socket gone, so PostgreSQL no longer lists it), so the cap holds at every
 * instant, not only on average. Callers that find no free slot queue in arrival order; the pool
 * cache frees slots by closing idle pools (`reclaim`), never by taking a connection in use, and a
 * caller still waiting after `waitMs` gets CONNECTION_BUDGET_EXHAUSTED instead of a hang.
 */
import { rememberDriverError } from "../core/driver-errors.js";
import { StratumError } from "../core/errors.js";

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ServerBudgetOptions {
  server: string;
  cap: number;
  waitMs: number;
  /** Asked to free slots whenever a caller queues (closes idle pools of this server). */
  reclaim: () => void;
}

export class ServerBudget {
  private used = 0;
  private peakUsed = 0;
  private readonly waiters: Waiter[] = [];

  constructor(private readonly options: ServerBudgetOptions) {}

  get cap(): number {
    return this.options.cap;
  }

  /** Slots held now, and the most ever held at once (tests and the bench read these). */
  stats(): { inUse: number; peak: number; waiting: number } {
    return { inUse: this.used, peak: this.peakUsed, waiting: this.waiters.length };
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** A slot now if one is free and nobody queued before us (arrival order is kept). */
  tryTake(): boolean {
    if (this.used >= this.options.cap || this.waiters.length > 0) return false;
    this.hold();
    return true;
  }

  /** A slot, waiting in line for one when the server's budget is spent. */
  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.waiters.indexOf(waiter);
          if (at !== -1) this.waiters.splice(at, 1);
          reject(this.exhausted());
        }, this.options.waitMs),
      };
      this.waiters.push(waiter);
      this.options.reclaim();
    });
  }

  /** Returns `n` slots (their connections are closed) and hands them to the callers in line. */
  give(n: number): void {
    this.used -= n;
    while (this.waiters.length > 0 && this.used < this.options.cap) {
      const waiter = this.waiters.shift()!;
      clearTimeout(waiter.timer);
      this.hold();
      waiter.resolve();
    }
  }

  /** Fails every caller in line (the cache is closing). */
  abandon(reason: Error): void {
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
  }

  private hold(): void {
    this.used++;
    if (this.used > this.peakUsed) this.peakUsed = this.used;
  }

  private exhausted(): StratumError {
    const { server, cap, waitMs } = this.options;
    return rememberDriverError(
      new StratumError(
        "CONNECTION_BUDGET_EXHAUSTED",
        `All ${cap} connections of the budget for server "${server}" stayed in use for ${waitMs} ms, so this tenant's database could not get one. ` +
          "Raise stratumAdapter({ connectionBudget: { connections } }) if the server has room (max_connections), shorten long transactions, or raise connectionBudget.waitMs.",
        { server, cap, waitMs },
      ),
    );
  }
}

/** The caps a process may use per server, from the options or from the server's own limits. */
export interface BudgetSizing {
  /** Connections per server, or per server name; default: from max_connections (see `capFromSettings`). */
  connections?: number | Record<string, number>;
  /** Connections left to everything else on the server when the cap comes from max_connections. Default 10. */
  reserve?: number;
}

export const DEFAULT_RESERVE = 10;

/** A cap given in the options for `server`, if any. */
export function configuredCap(sizing: BudgetSizing, server: string): number | undefined {
  const given = typeof sizing.connections === "number" ? sizing.connections : sizing.connections?.[server];
  if (given === undefined) return undefined;
  if (!Number.isInteger(given) || given < 1) {
    throw new StratumError("VALIDATION_FAILED", `connectionBudget.connections for server "${server}" must be a positive integer (got ${String(given)}).`);
  }
  return given;
}

/**
 * max_connections less the superuser reserve and `reserve` (the main pool, admin work, other
 * clients), at least one. A server shared by several processes needs an explicit share per
 * process (`connections`): this process cannot see the others' budgets.
 */
export function capFromSettings(maxConnections: number, superuserReserved: number, reserve = DEFAULT_RESERVE): number {
  return Math.max(1, maxConnections - superuserReserved - reserve);
}

/** SQL returning the two settings `capFromSettings` needs. */
export const SERVER_LIMITS_SQL =
  "SELECT current_setting('max_connections')::int AS max_connections, current_setting('superuser_reserved_connections')::int AS superuser_reserved";
