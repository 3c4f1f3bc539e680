/** Rate limiting on the run's real Redis: 429 with Retry-After, per key and per tenant; fail modes. */
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlPlane, type ControlPlaneRateLimit } from "../../src/server/index.js";
import { redisUrl } from "../harness/redis.js";
import { deleteKeysUnder } from "../support/redis-keys.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

const prefix = `stratum-srv-rl-${randomBytes(4).toString("hex")}`;
let f: ServerFixture;
let redis: Redis;
const apps: FastifyInstance[] = [];

async function limitedApp(rateLimit: Omit<ControlPlaneRateLimit, "prefix">): Promise<FastifyInstance> {
  const app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP, rateLimit: { prefix: `${prefix}:${apps.length}`, ...rateLimit } });
  apps.push(app);
  await app.ready();
  return app;
}

const get = (app: FastifyInstance, url: string, key: string) => app.inject({ method: "GET", url, headers: { "x-api-key": key } });

beforeAll(async () => {
  f = await serverFixture("srv_rl");
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
  await f?.close();
});

describe("rate limiting", () => {
  it("lets `limit` requests through per key, then answers 429 RATE_LIMITED with Retry-After; other keys are unaffected", async () => {
    const app = await limitedApp({ redis: redisUrl(), failMode: "closed", rules: { limit: 3, windowMs: 60_000 } });
    const other = expectStatus<{ key: string }>(await f.call("POST", "/api/v1/api-keys", { name: "other", scopes: ["tenants:read"] }), 201).key;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await get(app, "/api/v1/tenants", BOOTSTRAP);
      statuses.push(res.statusCode);
      expect(res.headers["x-ratelimit-remaining"]).toBe(String(2 - i));
    }
    expect(statuses).toEqual([200, 200, 200]);
    const limited = await get(app, "/api/v1/tenants", BOOTSTRAP);
    expect(limited.statusCode).toBe(429);
    expect(limited.json<{ error: { code: string } }>().error.code).toBe("RATE_LIMITED");
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await get(app, "/api/v1/tenants", other)).statusCode).toBe(200);
    // Health and the document are not counted.
    expect((await app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
  });

  it("counts per tenant across that tenant's keys", async () => {
    const t = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Rl Tenant" }), 201).id;
    const k1 = expectStatus<{ key: string }>(await f.call("POST", "/api/v1/api-keys", { name: "k1", scopes: ["tenants:read"], tenant_id: t }), 201).key;
    const k2 = expectStatus<{ key: string }>(await f.call("POST", "/api/v1/api-keys", { name: "k2", scopes: ["tenants:read"], tenant_id: t }), 201).key;
    const app = await limitedApp({ redis: redisUrl(), rules: { apiKey: { limit: 100, windowMs: 60_000 }, tenant: { limit: 2, windowMs: 60_000 } } });
    expect((await get(app, `/api/v1/tenants/${t}`, k1)).statusCode).toBe(200);
    expect((await get(app, `/api/v1/tenants/${t}`, k2)).statusCode).toBe(200);
    const third = await get(app, `/api/v1/tenants/${t}`, k1);
    expect(third.statusCode).toBe(429);
    expect(third.json<{ error: { details?: { limitedBy?: string } } }>().error.details?.limitedBy).toBe("tenant");
  });

  it("unauthenticated requests are refused before they spend a budget", async () => {
    const app = await limitedApp({ redis: redisUrl(), rules: { limit: 1, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect((await get(app, "/api/v1/tenants", "sk_live_wrongwrongwrongwrongwrong")).statusCode).toBe(401);
    expect((await get(app, "/api/v1/tenants", BOOTSTRAP)).statusCode).toBe(200);
  });

  it("with Redis unreachable: fail-closed answers 429, fail-open lets the request through", async () => {
    const closed = await limitedApp({ redis: "redis://127.0.0.1:1", failMode: "closed", rules: { limit: 10, windowMs: 1000 } });
    const refused = await get(closed, "/api/v1/tenants", BOOTSTRAP);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers["retry-after"]).toBe("1");
    const open = await limitedApp({ redis: "redis://127.0.0.1:1", failMode: "open", rules: { limit: 10, windowMs: 1000 } });
    expect((await get(open, "/api/v1/tenants", BOOTSTRAP)).statusCode).toBe(200);
  });
});
