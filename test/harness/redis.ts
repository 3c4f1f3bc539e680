/**
 * Where the tests' Redis is: `REDIS_URL`, else 127.0.0.1:6379 if it answers, else a
 * Testcontainers Redis when a Docker engine answers, else an Error that says what to start.
 * globalSetup resolves it once per run; a test that needs Redis calls `redisUrl()`, which throws
 * that Error when there is none, so no test is ever skipped silently.
 */
import { Redis } from "ioredis";
import { dockerEngineConfigured } from "./postgres.js";
import { injected } from "./context.js";

export const LOCAL_REDIS_URL = "redis://127.0.0.1:6379";

export const START_REDIS_HELP =
  'Start one of: `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no ' +
  "--dir /var/lib/redis --logfile /var/log/redis/ci.log`, `docker compose up -d redis`, or set REDIS_URL.";

export interface RedisTarget {
  url: string;
  source: "REDIS_URL" | "local" | "testcontainers";
  stop(): Promise<void>;
}

/** Why `url` does not answer PING, or null when it does. */
export async function probeRedis(url: string, timeoutMs = 2000): Promise<string | null> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    return pong === "PONG" ? null : `unexpected PING reply ${pong}`;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    client.disconnect();
  }
}

export async function resolveRedis(): Promise<RedisTarget> {
  const noop = async (): Promise<void> => undefined;
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    const problem = await probeRedis(fromEnv);
    if (problem) throw new Error(`Tests: REDIS_URL does not answer (${problem}). ${START_REDIS_HELP}`);
    return { url: fromEnv, source: "REDIS_URL", stop: noop };
  }
  const localProblem = await probeRedis(LOCAL_REDIS_URL);
  if (!localProblem) return { url: LOCAL_REDIS_URL, source: "local", stop: noop };
  if (dockerEngineConfigured()) {
    try {
      const { RedisContainer } = await import("@testcontainers/redis");
      const container = await new RedisContainer("redis:7").start();
      return { url: container.getConnectionUrl(), source: "testcontainers", stop: async () => void (await container.stop()) };
    } catch (error) {
      throw new Error(
        `Tests: no Redis at 127.0.0.1:6379 (${localProblem}) and Testcontainers could not start one ` +
          `(${error instanceof Error ? error.message : String(error)}). ${START_REDIS_HELP}`,
      );
    }
  }
  throw new Error(
    `Tests: no Redis. REDIS_URL is not set, 127.0.0.1:6379 does not answer (${localProblem}), and no Docker engine answers for Testcontainers. ${START_REDIS_HELP}`,
  );
}

/** The run's Redis URL (inside tests); throws the reason when the run has no Redis. */
export function redisUrl(): string {
  const url = injected("redisUrl");
  if (url) return url;
  throw new Error(injected("redisError") || `Tests: no Redis was resolved for this run. ${START_REDIS_HELP}`);
}
