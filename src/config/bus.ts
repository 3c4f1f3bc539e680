/**
 * ChangeBus implementations.
 *
 * - `createPgChangeBus`: `pg_notify` inside the writer's transaction (PostgreSQL delivers it only on
 *   commit, and drops it on rollback) and one dedicated `pg` client that LISTENs.
 * - `createRedisChangeBus`: fan-out over Redis pub/sub. Redis knows nothing of PostgreSQL
 *   transactions, so `publish` still goes through `pg_notify` on a relay channel; this instance's
 *   LISTEN client forwards the notifications it produced itself (tagged with its instance id) to
 *   Redis once PostgreSQL delivered them, i.e. after commit. Subscribers listen on Redis only. If
 *   the publishing process dies between commit and relay the event is lost; the cache TTL bounds
 *   the staleness in that case.
 * - `createLocalChangeBus`: in-process only (single process, tests).
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Redis } from "ioredis";
import { loadOptionalPeer } from "../core/optional-peer.js";
import { closeRedis, outageReporter, watchRedis, type OutageLog } from "../core/outage.js";
import { executeOrDefer, type Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { ChangeBus, ChangeEvent } from "../core/ports.js";

export const DEFAULT_CHANNEL = "stratum_changes";

export interface ReconnectingBus extends ChangeBus {
  /** Resolves once the listener is subscribed (events published after it are delivered). */
  readonly ready: Promise<void>;
  /** Called after the listener reconnected (events may have been missed: clear caches). */
  onReconnect(fn: () => void): () => void;
}

const KINDS = new Set(["tenant", "config", "permission", "isolation"]);

function parseEvent(payload: string | undefined): ChangeEvent | null {
  if (!payload) return null;
  try {
    const v = JSON.parse(payload) as Partial<ChangeEvent>;
    if (typeof v.tenantId === "string" && typeof v.kind === "string" && KINDS.has(v.kind)) {
      return { kind: v.kind, tenantId: v.tenantId, subtree: v.subtree === true };
    }
  } catch {
    /* ignore foreign payloads */
  }
  return null;
}

function assertChannel(channel: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel))
    throw new StratumError(
      "VALIDATION_FAILED",
      `Invalid channel name ${JSON.stringify(channel)}: use 1-63 characters of a-z, 0-9 and _, not starting with a digit.`,
      { channel },
    );
}

class Listeners {
  private readonly set = new Set<(event: ChangeEvent) => void>();
  private readonly reconnect = new Set<() => void>();
  add(fn: (event: ChangeEvent) => void): () => void {
    this.set.add(fn);
    return () => this.set.delete(fn);
  }
  addReconnect(fn: () => void): () => void {
    this.reconnect.add(fn);
    return () => this.reconnect.delete(fn);
  }
  emit(event: ChangeEvent): void {
    for (const fn of this.set) {
      try {
        fn(event);
      } catch {
        /* a listener's failure must not stop the others */
      }
    }
  }
  emitReconnect(): void {
    for (const fn of this.reconnect) fn();
  }
}

/**
 * A dedicated LISTEN connection that reconnects with backoff. `onMessage` receives payloads of
 * `channel`; `onReconnect` runs after a reconnect (not after the first connect).
 */
class PgListener {
  private client: pg.Client | null = null;
  private closed = false;
  private attempt = 0;
  private reconnecting = false;
  readonly ready: Promise<void>;

  constructor(
    private readonly connectionString: string,
    private readonly channel: string,
    private readonly onMessage: (payload: string | undefined) => void,
    private readonly onReconnect: () => void,
  ) {
    this.ready = this.connect(false);
    this.ready.catch(() => undefined);
  }

  private async connect(isReconnect: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on("notification", (msg) => {
      if (msg.channel === this.channel) this.onMessage(msg.payload);
    });
    client.on("error", () => this.scheduleReconnect(client));
    client.on("end", () => this.scheduleReconnect(client));
    await client.connect();
    await client.query(`LISTEN ${this.channel}`);
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempt = 0;
    if (isReconnect) this.onReconnect();
  }

  private scheduleReconnect(failed: pg.Client): void {
    if (this.closed || this.reconnecting || this.client !== failed) return;
    this.reconnecting = true;
    this.client = null;
    failed.end().catch(() => undefined);
    const retry = (): void => {
      const delay = Math.min(5_000, 50 * 2 ** this.attempt++);
      setTimeout(() => {
        if (this.closed) return;
        this.connect(true).then(
          () => {
            this.reconnecting = false;
          },
          () => retry(),
        );
      }, delay).unref();
    };
    retry();
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}

export interface PgChangeBusOptions {
  /** Connection string for the dedicated LISTEN connection (the owner or app role). */
  connectionString: string;
  channel?: string;
}

/**
 * The NOTIFY of a change, in the writer's transaction. PostgreSQL delivers it at COMMIT whenever
 * it was sent, so on the driver it rides with the COMMIT (Db.defer): one round trip less per
 * create, move, config or permission write.
 */
function notify(tx: Db, channel: string, payload: unknown): Promise<void> {
  return executeOrDefer(tx, "SELECT pg_notify($1, $2)", [channel, JSON.stringify(payload)]);
}

export function createPgChangeBus(options: PgChangeBusOptions): ReconnectingBus {
  const channel = options.channel ?? DEFAULT_CHANNEL;
  assertChannel(channel);
  const listeners = new Listeners();
  const listener = new PgListener(
    options.connectionString,
    channel,
    (payload) => {
      const event = parseEvent(payload);
      if (event) listeners.emit(event);
    },
    () => listeners.emitReconnect(),
  );
  return {
    ready: listener.ready,
    async publish(tx: Db, event: ChangeEvent) {
      await notify(tx, channel, event);
    },
    subscribe: (fn) => listeners.add(fn),
    onReconnect: (fn) => listeners.addReconnect(fn),
    close: () => listener.close(),
  };
}

export interface RedisChangeBusOptions {
  /** Redis URL, e.g. redis://127.0.0.1:6379. */
  redisUrl: string;
  /** PostgreSQL connection string for the relay's LISTEN connection. */
  connectionString: string;
  channel?: string;
  /** Where the one warning per Redis outage goes (default console.warn). */
  log?: OutageLog;
}

export function createRedisChangeBus(options: RedisChangeBusOptions): ReconnectingBus {
  const channel = options.channel ?? DEFAULT_CHANNEL;
  assertChannel(channel);
  const relayChannel = `${channel}_relay`.slice(0, 63);
  const instance = randomUUID();
  const listeners = new Listeners();
  // One warning per outage. Meanwhile this process neither hears other processes' changes nor
  // tells them its own: caches and routes fall back to their TTLs, and on reconnect every
  // listener is told to drop what it holds (onReconnect).
  const outage = outageReporter(
    "change bus",
    "Cache and route invalidations between processes are paused; cached values expire by their TTL, and everything cached is dropped when Redis is back.",
    options.log,
  );
  // ioredis is an optional peer, imported here on first use: without it `ready` rejects with
  // PEER_DEPENDENCY_MISSING (and the relay stays closed: nothing would carry its events).
  const clients = loadOptionalPeer("ioredis", "createRedisChangeBus").then(({ Redis: RedisClient }) => {
    const publisher = new RedisClient(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
    const subscriber = new RedisClient(options.redisUrl, { lazyConnect: false });
    watchRedis(subscriber, outage);
    publisher.on("error", (error: unknown) => outage.down(error));
    return { publisher, subscriber };
  });
  clients.catch(() => undefined); // surfaced through `ready`
  let publisher: Redis | undefined;
  let closing = false;
  const subscribed = clients.then(async (c) => {
    publisher = c.publisher;
    let subscribedOnce = false;
    c.subscriber.on("message", (ch: string, message: string) => {
      if (ch !== channel) return;
      const event = parseEvent(message);
      if (event) listeners.emit(event);
    });
    c.subscriber.on("ready", () => {
      if (subscribedOnce) listeners.emitReconnect();
    });
    await c.subscriber.subscribe(channel);
    subscribedOnce = true;
  });
  const relay = clients.then(() => {
    if (closing) return undefined;
    return new PgListener(
      options.connectionString,
      relayChannel,
      (payload) => {
        if (!payload || !publisher) return;
        try {
          const msg = JSON.parse(payload) as { origin?: string; event?: unknown };
          if (msg.origin !== instance) return;
          publisher.publish(channel, JSON.stringify(msg.event)).catch(() => undefined);
        } catch {
          /* ignore */
        }
      },
      () => listeners.emitReconnect(),
    );
  });
  const ready = Promise.all([subscribed, relay.then((r) => r?.ready)]).then(() => undefined);
  ready.catch(() => undefined); // a caller that never awaits `ready` gets no unhandled rejection
  return {
    ready,
    async publish(tx: Db, event: ChangeEvent) {
      await notify(tx, relayChannel, { origin: instance, event });
    },
    subscribe: (fn) => listeners.add(fn),
    onReconnect: (fn) => listeners.addReconnect(fn),
    async close() {
      closing = true;
      const c = await clients.catch(() => undefined);
      await (await relay.catch(() => undefined))?.close();
      if (!c) return;
      c.subscriber.disconnect();
      await closeRedis(c.publisher);
    },
  };
}

/**
 * In-process bus for a single process: delivers on the next microtask, not on commit (it cannot
 * see the transaction's outcome). The config and permission services also invalidate their own
 * cache after commit, so a cache never keeps a value a committed write replaced.
 */
export function createLocalChangeBus(): ChangeBus {
  const listeners = new Listeners();
  return {
    async publish(_tx: Db, event: ChangeEvent) {
      queueMicrotask(() => listeners.emit(event));
    },
    subscribe: (fn) => listeners.add(fn),
    async close() {},
  };
}
