/**
 * Redis going away under the parts that use it: webhooks (BullMQ), the Redis change bus and the
 * rate limiter. Each logs one warning for the outage saying what it does meanwhile, handles every
 * ioredis 'error' event, and closes without waiting for Redis. The test runs its own redis-server
 * on a free port and stops it (never the shared one).
 */
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { createRedisChangeBus } from "../../src/config/bus.js";
import { createRateLimiter } from "../../src/ratelimit/index.js";
import { stratum, stratumAdapter } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { waitFor } from "../support/wait.js";

let db: TestDatabase;
let port = 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: p } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return p;
}

const cli = (...args: string[]) => execFileSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" }).trim();

async function startRedis(): Promise<void> {
  execFileSync("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no", "--daemonize", "yes"]);
  await waitFor("redis to answer", () => {
    try {
      return cli("ping") === "PONG" ? true : undefined;
    } catch {
      return undefined;
    }
  });
}

function stopRedis(): void {
  try {
    cli("shutdown", "nosave");
  } catch {
    // already gone
  }
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "redis_down" });
  port = await freePort();
  await startRedis();
});

afterAll(async () => {
  stopRedis();
  await db?.drop();
});

describe("Redis down", () => {
  it("webhooks: one warning, deliveries wait in the outbox, close() returns", async () => {
    const warnings: string[] = [];
    const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl }) });
    const prisma = base.$extends(
      stratum({
        models: stratumModels,
        scopeKey: db.scopeKey,
        webhooks: { redis: `redis://127.0.0.1:${port}`, queueName: "redis-down", pollIntervalMs: 50, allowPrivateNetworks: true, log: (m) => warnings.push(m) },
      }),
    );
    try {
      const t = await prisma.$stratum.createTenant({ name: "Redis Down" });
      const { webhook } = await prisma.$stratum.registerWebhook(t.id, { url: "http://127.0.0.1:9/hook", events: ["config.*"] });
      stopRedis();
      await waitFor("the outage warning", () => (warnings.length > 0 ? true : undefined));
      await prisma.$stratum.setConfig(t.id, "k", { value: 1 });
      // The poller tries (and fails) to enqueue it several times meanwhile.
      const deliveries = await waitFor("the delivery", async () => {
        const list = await prisma.$stratum.listDeliveries(webhook.id);
        return list.length > 0 ? list : undefined;
      });
      expect(deliveries[0]!.status).toBe("pending");
      await prisma.$stratum.close();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/webhooks: Redis is unreachable.*sent when Redis is back/);
      expect((await prisma.$stratum.listDeliveries(webhook.id))[0]!.status).toBe("pending");
    } finally {
      await base.$disconnect();
      await startRedis();
    }
  });

  it("change bus: every ioredis error handled, one warning per outage, close() returns", async () => {
    const warnings: string[] = [];
    const consoleError = vi.spyOn(console, "error");
    const bus = createRedisChangeBus({ redisUrl: `redis://127.0.0.1:${port}`, connectionString: db.appUrl, log: (m) => warnings.push(m) });
    try {
      await bus.ready;
      stopRedis();
      await waitFor("the outage warning", () => (warnings.length > 0 ? true : undefined));
      await bus.close();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/change bus: Redis is unreachable.*TTL/);
      expect(consoleError.mock.calls.filter((c) => String(c[0]).includes("Unhandled error event"))).toEqual([]);
    } finally {
      consoleError.mockRestore();
      await startRedis();
    }
  });

  it("rate limiter: fails open (degraded) or closed as configured, one warning, close() returns", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const open = createRateLimiter({ redis: `redis://127.0.0.1:${port}`, failMode: "open", timeoutMs: 200 });
    const closed = createRateLimiter({ redis: `redis://127.0.0.1:${port}`, failMode: "closed", timeoutMs: 200 });
    try {
      const rule = { limit: 5, windowMs: 1000 };
      // Both connected first: a check before the connection is up counts as unavailable too.
      await waitFor("the limiters to connect", async () => ((await open.limit({ tenantId: "t1" }, rule)).degraded ? undefined : true));
      await waitFor("the limiters to connect", async () =>
        (await closed.limit({ tenantId: "t2" }, rule).catch(() => ({ degraded: true }))).degraded ? undefined : true,
      );
      warn.mockClear();
      stopRedis();
      for (let i = 0; i < 5; i++) expect((await open.limit({ tenantId: "t1" }, rule)).degraded).toBe(true);
      for (let i = 0; i < 3; i++) await expect(closed.limit({ tenantId: "t1" }, rule)).rejects.toMatchObject({ code: "RATE_LIMITED" });
      const lines = warn.mock.calls.map((c) => String(c[0]));
      expect(lines.filter((l) => l.includes("rate limiter: Redis is unreachable"))).toHaveLength(2); // one per limiter
      await open.close();
      await closed.close();
    } finally {
      warn.mockRestore();
      await startRedis();
    }
  });
});
