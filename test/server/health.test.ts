/**
 * Liveness and readiness on real PostgreSQL and Redis; failed authentication limited per source
 * address; CORS, security headers and Swagger UI.
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlPlane } from "../../src/server/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { redisUrl } from "../harness/redis.js";
import { stratumTestClient } from "../support/stratum-client.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface Ready {
  status: string;
  checks: Array<{ name: string; ok: boolean; message: string }>;
}

let f: ServerFixture;
const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  f = await serverFixture("srv_health");
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await f?.close();
});

async function plane(options: Partial<Parameters<typeof createControlPlane>[0]> = {}, prisma = f.prisma): Promise<FastifyInstance> {
  const app = createControlPlane({ prisma, bootstrapKey: BOOTSTRAP, ...options });
  cleanups.push(() => app.close());
  await app.ready();
  return app;
}

const checkOf = (ready: Ready, name: string) => ready.checks.find((c) => c.name === name);

describe("liveness and readiness", () => {
  it("answers /health and /ready without a key, at the root and under /api/v1", async () => {
    for (const prefix of ["", "/api/v1"]) {
      expect(expectStatus(await f.call("GET", `${prefix}/health`, undefined, null), 200)).toEqual({ status: "ok" });
      const ready = expectStatus<Ready>(await f.call("GET", `${prefix}/ready`, undefined, null), 200);
      expect(ready.status).toBe("ready");
      expect(ready.checks.map((c) => [c.name, c.ok])).toEqual([
        ["database", true],
        ["migrations", true],
        ["scope_key", true],
        ["connection", true],
      ]);
    }
  });

  it("checks Redis when rate limiting uses it, and is not ready when Redis does not answer", async () => {
    const rules = { limit: 100, windowMs: 60_000 };
    const up = await plane({ rateLimit: { redis: redisUrl(), rules, prefix: `stratum-health-${randomBytes(4).toString("hex")}` } });
    const ok = expectStatus<Ready>(await up.inject({ method: "GET", url: "/ready" }), 200);
    expect(checkOf(ok, "redis")?.ok).toBe(true);
    // Port 1: nothing listens, the connection is refused at once.
    const down = await plane({ rateLimit: { redis: "redis://127.0.0.1:1", rules } });
    const res = await down.inject({ method: "GET", url: "/api/v1/ready" });
    expect(res.statusCode).toBe(503);
    const body = res.json<Ready>();
    expect(body.status).toBe("not_ready");
    expect(checkOf(body, "redis")).toMatchObject({ ok: false, message: expect.stringContaining("REDIS_URL") });
    expect(checkOf(body, "database")?.ok).toBe(true);
  });

  it("is not ready with a scope key the database does not hold, and says which key to use", async () => {
    const client = stratumTestClient({ ...f.db, scopeKey: `wrong-${randomBytes(24).toString("hex")}` });
    cleanups.push(() => client.close());
    const app = await plane({}, client.prisma);
    const res = await app.inject({ method: "GET", url: "/ready" });
    expect(res.statusCode).toBe(503);
    expect(checkOf(res.json<Ready>(), "scope_key")).toMatchObject({ ok: false, message: expect.stringContaining("STRATUM_SCOPE_KEY") });
  });

  it("is not ready on a database that was never migrated, and names the command that fixes it", async () => {
    const empty: TestDatabase = await createTestDatabase({ label: "srv_health_empty", empty: true });
    cleanups.push(() => empty.drop());
    const client = stratumTestClient({ ...empty, appUrl: empty.ownerUrl });
    cleanups.push(() => client.close());
    const app = await plane({}, client.prisma);
    const res = await app.inject({ method: "GET", url: "/ready" });
    expect(res.statusCode).toBe(503);
    const migrations = checkOf(res.json<Ready>(), "migrations");
    expect(migrations).toMatchObject({ ok: false, message: expect.stringContaining("stratum migrate") });
    expect(migrations?.message).toContain("stratum_tenants");
  });
});

describe("failed authentication", () => {
  it("answers 429 to a source after `limit` wrong keys, before looking at its key; other sources are unaffected", async () => {
    const app = await plane({ authFailureLimit: { limit: 3, windowMs: 60_000 } });
    const from = (remoteAddress: string, key: string) => app.inject({ method: "GET", url: "/api/v1/tenants", remoteAddress, headers: { "x-api-key": key } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await from("203.0.113.7", `sk_wrong_${i}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const blocked = await from("203.0.113.7", BOOTSTRAP);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json<{ error: { code: string } }>().error.code).toBe("RATE_LIMITED");
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    expect((await from("198.51.100.2", BOOTSTRAP)).statusCode).toBe(200);
    expect((await from("198.51.100.2", "sk_wrong")).statusCode).toBe(401);
  });
});

describe("browser surface", () => {
  it("answers CORS preflights for the configured origin only, sends security headers, and serves Swagger UI", async () => {
    const app = await plane({ cors: { origin: ["https://dash.example.com"] } });
    const preflight = await app.inject({
      method: "OPTIONS",
      url: "/api/v1/tenants",
      headers: { origin: "https://dash.example.com", "access-control-request-method": "GET", "access-control-request-headers": "x-api-key" },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://dash.example.com");
    const foreign = await app.inject({
      method: "OPTIONS",
      url: "/api/v1/tenants",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    expect(foreign.headers["access-control-allow-origin"]).toBeUndefined();

    const health = await app.inject({ method: "GET", url: "/health" });
    expect(health.headers["x-content-type-options"]).toBe("nosniff");
    expect(health.headers["strict-transport-security"]).toBeDefined();

    const docs = await app.inject({ method: "GET", url: "/docs/" });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers["content-type"]).toContain("text/html");
    expect(docs.body).toContain("swagger");
  });
});
