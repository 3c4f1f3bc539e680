/**
 * Redis outages, reported once each. A Redis client that cannot connect emits an error on every
 * reconnect attempt (several a second); logging each one floods the log and says nothing new.
 * An `OutageReporter` logs one warning when an outage starts — naming what the component does
 * meanwhile — and one line when it ends; everything in between is counted, not logged.
 */
import type { Redis } from "ioredis";

export interface OutageReporter {
  /** A failure: the first one of an outage is logged, the rest only counted. */
  down(error: unknown): void;
  /** The connection works again: ends the outage (logged once, with the count). */
  up(): void;
  readonly isDown: boolean;
}

export type OutageLog = (message: string) => void;

/** `what` names the component; `meanwhile` says what it does while Redis is unreachable. */
export function outageReporter(what: string, meanwhile: string, log: OutageLog = (m) => console.warn(m)): OutageReporter {
  let failures = 0;
  return {
    get isDown() {
      return failures > 0;
    },
    down(error) {
      if (failures++ === 0) log(`[stratum] ${what}: Redis is unreachable (${(error as Error)?.message ?? String(error)}). ${meanwhile}`);
    },
    up() {
      if (failures === 0) return;
      log(`[stratum] ${what}: Redis is reachable again (${failures} failed attempt(s) during the outage).`);
      failures = 0;
    },
  };
}

/** Watches one ioredis client: every 'error' is handled (never "Unhandled error event"). */
export function watchRedis(client: Pick<Redis, "on">, reporter: OutageReporter): void {
  client.on("error", (error: unknown) => reporter.down(error));
  client.on("ready", () => reporter.up());
}

/**
 * Resolves with `promise`, or rejects after `ms`: a call that waits on Redis (which queues
 * commands while disconnected) must not hold up the caller forever.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Closes a client: politely when connected, at once otherwise (QUIT would wait for a reconnect). */
export async function closeRedis(client: Pick<Redis, "status" | "quit" | "disconnect">, ms = 2_000): Promise<void> {
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  await withTimeout(client.quit(), ms, "Redis QUIT").catch(() => client.disconnect());
}
