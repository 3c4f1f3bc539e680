/**
 * API keys after creation, on real PostgreSQL and Redis: expiry, rotation with a grace period,
 * last-used time, the dormant-keys report, per-key rate limits; over HTTP and through the SDK.
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stratum as sdk } from "../../src/sdk/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { redisUrl } from "../harness/redis.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface Key {
  id: string;
  key: string;
  expires_at: string | null;
  rate_limit: number | null;
  last_used_at: string | null;
}

let f: ServerFixture;
const apps: FastifyInstance[] = [];
beforeAll(async () => {
  f = await serverFixture("srv_key_life");
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await f?.close();
});

const create = async (body: Record<string, unknown> = {}) =>
  expectStatus<Key>(await f.call("POST", "/api/v1/api-keys", { name: "k", scopes: ["tenants:read"], ...body }), 201);
const status = async (key: string) => (await f.call("GET", "/api/v1/tenants", undefined, key)).statusCode;

describe("expiry", () => {
  it("a key with expires_at works until then, is refused after, and leaves the live list", async () => {
    expectStatus(await f.call("POST", "/api/v1/api-keys", { name: "past", scopes: ["tenants:read"], expires_at: "2001-01-01T00:00:00Z" }), 400);
    const k = await create({ expires_at: new Date(Date.now() + 86_400_000).toISOString() });
    expect(k.expires_at).not.toBeNull();
    expect(await status(k.key)).toBe(200);
    await f.ownerQuery(`UPDATE stratum_api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [k.id]);
    expect(await status(k.key)).toBe(401);
    const live = expectStatus<Key[]>(await f.call("GET", "/api/v1/api-keys"), 200);
    expect(live.map((x) => x.id)).not.toContain(k.id);
    const all = expectStatus<Key[]>(await f.call("GET", "/api/v1/api-keys?include_revoked=true"), 200);
    expect(all.map((x) => x.id)).toContain(k.id);
  });
});

describe("rotation", () => {
  it("gives a new key at once and keeps the old one for the grace period", async () => {
    const old = await create({ rate_limit: 50 });
    const rotated = expectStatus<{ key: Key & { name: string; scopes: string[] }; previous: Key }>(
      await f.call("POST", `/api/v1/api-keys/${old.id}/rotate`, { grace_seconds: 3600 }),
      201,
    );
    expect(rotated.key.key).not.toBe(old.key);
    expect(rotated.key).toMatchObject({ name: "k", scopes: ["tenants:read"], rate_limit: 50 });
    // Both times are the database's now() of one transaction: the grace is exact.
    expect(Date.parse(rotated.previous.expires_at!) - Date.parse((rotated.key as unknown as { created_at: string }).created_at)).toBe(3_600_000);
    expect(await status(rotated.key.key)).toBe(200);
    expect(await status(old.key)).toBe(200);
  });

  it("with grace_seconds 0 the old key stops at once; a revoked key cannot be rotated", async () => {
    const old = await create();
    const rotated = expectStatus<{ key: Key }>(await f.call("POST", `/api/v1/api-keys/${old.id}/rotate`, { grace_seconds: 0 }), 201);
    expect(await status(old.key)).toBe(401);
    expect(await status(rotated.key.key)).toBe(200);
    expectStatus(await f.call("DELETE", `/api/v1/api-keys/${rotated.key.id}`), 200);
    const refused = await f.call("POST", `/api/v1/api-keys/${rotated.key.id}/rotate`, {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe("CONFLICT");
  });
});

describe("last use and dormant keys", () => {
  it("records the last use and reports keys unused for longer than `days`", async () => {
    const used = await create({ name: "used" });
    const stale = await create({ name: "stale" });
    const never = await create({ name: "never" });
    expect(await status(used.key)).toBe(200);
    const afterUse = expectStatus<Key[]>(await f.call("GET", "/api/v1/api-keys"), 200).find((k) => k.id === used.id)!;
    expect(afterUse.last_used_at).not.toBeNull();
    expect(await status(stale.key)).toBe(200);
    await f.ownerQuery(`UPDATE stratum_api_keys SET last_used_at = now() - interval '40 days' WHERE id = $1`, [stale.id]);
    await f.ownerQuery(`UPDATE stratum_api_keys SET created_at = now() - interval '60 days' WHERE id = $1`, [never.id]);
    const dormant = expectStatus<Key[]>(await f.call("GET", "/api/v1/api-keys/dormant?days=30"), 200).map((k) => k.id);
    expect(dormant).toContain(stale.id);
    expect(dormant).toContain(never.id);
    expect(dormant).not.toContain(used.id);
    expect(dormant.indexOf(never.id)).toBeLessThan(dormant.indexOf(stale.id));
    expect(expectStatus<Key[]>(await f.call("GET", "/api/v1/api-keys/dormant?days=50"), 200).map((k) => k.id)).not.toContain(stale.id);
  });
});

describe("per-key rate limits", () => {
  it("a key's own rate_limit replaces the server's per-key rule", async () => {
    const app = createControlPlane({
      prisma: f.prisma,
      bootstrapKey: BOOTSTRAP,
      rateLimit: {
        redis: redisUrl(),
        failMode: "closed",
        rules: { limit: 100, windowMs: 60_000 },
        prefix: `stratum-keylimit-${randomBytes(4).toString("hex")}`,
      },
    });
    apps.push(app);
    await app.ready();
    const tight = await create({ rate_limit: 2 });
    const loose = await create();
    const get = (key: string) => app.inject({ method: "GET", url: "/api/v1/tenants", headers: { "x-api-key": key } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(tight.key)).statusCode);
    expect(statuses).toEqual([200, 200, 429]);
    for (let i = 0; i < 3; i++) expect((await get(loose.key)).statusCode).toBe(200);
  });
});

describe("SDK", () => {
  it("rotates and reports dormant keys through the SDK", async () => {
    const app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP });
    apps.push(app);
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    const s = sdk({ controlPlaneUrl: url, apiKey: BOOTSTRAP });
    const created = await s.apiKeys.create({
      name: "sdk",
      scopes: ["tenants:read"],
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      rate_limit: 10,
    });
    expect(created.rate_limit).toBe(10);
    const { key, previous } = await s.apiKeys.rotate(created.id, { grace_seconds: 60, environment: "test" });
    expect(key.key.startsWith("sk_test_")).toBe(true);
    expect(previous.id).toBe(created.id);
    await f.ownerQuery(`UPDATE stratum_api_keys SET created_at = now() - interval '90 days' WHERE id = $1`, [key.id]);
    expect((await s.apiKeys.dormant({ days: 30 })).map((k) => k.id)).toContain(key.id);
  });
});
