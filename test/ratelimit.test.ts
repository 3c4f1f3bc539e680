import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStratumError } from "../src/core/errors.js";
import { codeOf as code } from "./support/errors.js";
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from "../src/ratelimit/index.js";
import { redisUrl } from "./harness/redis.js";
import { deleteKeysUnder } from "./support/redis-keys.js";

const prefix = `stratum-rl-test-${randomBytes(4).toString("hex")}`;
let redis: Redis;
const limiters: RateLimiter[] = [];

/** A limiter on the test's Redis with a hand-moved clock (or Redis's own clock when `clock` is null). */
function limiter(overrides: Partial<RateLimiterOptions> = {}): RateLimiter {
  const l = createRateLimiter({ redis: redisUrl(), prefix, failMode: "closed", ...overrides });
  limiters.push(l);
  return l;
}

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, set: (t: number) => void (now = t), advance: (ms: number) => void (now += ms) };
}

beforeAll(() => {
  redis = new Redis(redisUrl());
});

afterAll(async () => {
  for (const l of limiters) await l.close();
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

describe("sliding window", () => {
  it("allows exactly `limit` in a window, counts down remaining, and frees the oldest slot exactly one window later", async () => {
    const clock = fakeClock();
    const l = limiter({ clock: clock.now });
    const key = { tenantId: randomUUID() };
    const rule = { limit: 5, windowMs: 1000 };
    const results = [];
    for (let i = 0; i < 5; i++) {
      results.push(await l.limit(key, rule));
      clock.advance(100);
    }
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true]);
    expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0]);
    expect(results[0]!.resetMs).toBe(1000);
    // t = 500: sixth refused, until the first (t = 0) leaves at t = 1000
    const sixth = await l.limit(key, rule);
    expect(sixth).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 500, resetMs: 500, limitedBy: "tenant", degraded: false });
    clock.set(1_000_000 + 999);
    expect((await l.limit(key, rule)).allowed).toBe(false);
    clock.set(1_000_000 + 1000);
    const freed = await l.limit(key, rule);
    expect(freed).toMatchObject({ allowed: true, remaining: 0, retryAfterMs: 0 });
    // one slot freed, one taken: the next is refused until t = 1100 frees the second
    const again = await l.limit(key, rule);
    expect(again).toMatchObject({ allowed: false, retryAfterMs: 100 });
  });

  it("slides: a burst at the end of one fixed bucket and the start of the next is not allowed twice", async () => {
    const clock = fakeClock(10_000);
    const l = limiter({ clock: clock.now });
    const key = { apiKey: `sk_${randomUUID()}` };
    const rule = { limit: 10, windowMs: 1000 };
    const burst = async () => {
      let allowed = 0;
      for (let i = 0; i < 10; i++) if ((await l.limit(key, rule)).allowed) allowed++;
      return allowed;
    };
    clock.set(10_900); // late in the fixed bucket [10000, 11000)
    expect(await burst()).toBe(10);
    clock.set(11_000); // a fixed-window limiter would start afresh here
    expect(await burst()).toBe(0);
    clock.set(11_899);
    expect(await burst()).toBe(0);
    clock.set(11_900);
    expect(await burst()).toBe(10);
    // requests spread evenly: never more than `limit` in any window-long span
    const allowedAt: number[] = [];
    for (let t = 20_000; t < 24_000; t += 37) {
      clock.set(t);
      if ((await l.limit(key, rule)).allowed) allowedAt.push(t);
    }
    for (const start of allowedAt) {
      expect(allowedAt.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(10);
    }
    // …and the limit is reached in every window once it filled (≈ 27 requests per second offered)
    expect(allowedAt.length).toBeGreaterThanOrEqual(38);
  });

  it("uses Redis's clock when none is given", async () => {
    const l = limiter();
    const key = { tenantId: randomUUID() };
    const rule = { limit: 3, windowMs: 400 };
    for (let i = 0; i < 3; i++) expect((await l.limit(key, rule)).allowed).toBe(true);
    const refused = await l.limit(key, rule);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(200);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(400);
    await new Promise((r) => setTimeout(r, refused.retryAfterMs + 30));
    expect((await l.limit(key, rule)).allowed).toBe(true);
  });

  it("refused requests are not counted", async () => {
    const clock = fakeClock();
    const l = limiter({ clock: clock.now });
    const key = { tenantId: randomUUID() };
    const rule = { limit: 2, windowMs: 1000 };
    await l.limit(key, rule);
    await l.limit(key, rule);
    for (let i = 0; i < 50; i++) expect((await l.limit(key, rule)).allowed).toBe(false);
    clock.advance(1000);
    expect((await l.limit(key, rule)).remaining).toBe(1);
  });
});

describe("keys", () => {
  it("isolates tenants and API keys; both are checked and the stricter wins", async () => {
    const clock = fakeClock();
    const l = limiter({ clock: clock.now });
    const [t1, t2] = [randomUUID(), randomUUID()];
    const [k1, k2] = [`sk_${randomUUID()}`, `sk_${randomUUID()}`];
    const rule = { limit: 3, windowMs: 60_000 };
    for (let i = 0; i < 3; i++) expect((await l.limit({ tenantId: t1 }, rule)).allowed).toBe(true);
    expect((await l.limit({ tenantId: t1 }, rule)).allowed).toBe(false);
    expect((await l.limit({ tenantId: t2 }, rule)).allowed).toBe(true);
    expect((await l.limit({ apiKey: k1 }, rule)).allowed).toBe(true);
    // the tenant is exhausted: its API keys are refused too, and nothing is recorded for k1
    expect(await l.limit({ apiKey: k1, tenantId: t1 }, rule)).toMatchObject({ allowed: false, limitedBy: "tenant" });
    expect((await l.limit({ apiKey: k1 }, rule)).remaining).toBe(1);
    // scopes separate operations
    expect((await l.limit({ tenantId: t1, scope: "export" }, rule)).allowed).toBe(true);

    // per-kind rules: the API key allows 2, the tenant 4
    const rules = { apiKey: { limit: 2, windowMs: 60_000 }, tenant: { limit: 4, windowMs: 60_000 } };
    const t3 = randomUUID();
    const call = async (apiKey: string) => {
      clock.advance(1);
      return l.limit({ apiKey, tenantId: t3 }, rules);
    };
    expect(await call(k2)).toMatchObject({ allowed: true, remaining: 1, limitedBy: "apiKey" });
    expect(await call(k2)).toMatchObject({ allowed: true, remaining: 0, limitedBy: "apiKey" });
    expect(await call(k2)).toMatchObject({ allowed: false, limitedBy: "apiKey" });
    const [k3, k4, k5] = [`sk_${randomUUID()}`, `sk_${randomUUID()}`, `sk_${randomUUID()}`];
    // both have one left: the API key's (younger) window frees up later, so it is the stricter
    expect(await call(k3)).toMatchObject({ allowed: true, remaining: 1, limitedBy: "apiKey" });
    expect(await call(k4)).toMatchObject({ allowed: true, remaining: 0, limitedBy: "tenant" });
    const refused = await call(k5);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, limitedBy: "tenant" });
    expect(refused.retryAfterMs).toBe(60_000 - 5); // the tenant's first request (k2's) leaves first

    // API keys never reach Redis in clear
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.some((k) => k.includes(k1) || k.includes(k2) || k.includes(k3))).toBe(false);
    await l.reset({ tenantId: t1 });
    expect((await l.limit({ tenantId: t1 }, rule)).remaining).toBe(2);
  });

  it("validates keys and rules", async () => {
    const l = limiter();
    expect(await code(l.limit({}, { limit: 1, windowMs: 1000 }))).toBe("VALIDATION_FAILED");
    expect(await code(l.limit({ tenantId: "a:b" }, { limit: 1, windowMs: 1000 }))).toBe("VALIDATION_FAILED");
    expect(await code(l.limit({ tenantId: "a" }, { limit: 0, windowMs: 1000 }))).toBe("VALIDATION_FAILED");
    expect(await code(l.limit({ tenantId: "a" }, { limit: 1.5, windowMs: 1000 }))).toBe("VALIDATION_FAILED");
    expect(() => createRateLimiter({ redis: redisUrl(), failMode: "maybe" as "open" })).toThrow(/failMode/);
  });

  it("enforce throws RATE_LIMITED with the wait", async () => {
    const clock = fakeClock();
    const l = limiter({ clock: clock.now });
    const key = { apiKey: `sk_${randomUUID()}` };
    await l.enforce(key, { limit: 1, windowMs: 2000 });
    clock.advance(500);
    const error = await l.enforce(key, { limit: 1, windowMs: 2000 }).catch((e: unknown) => e);
    expect(isStratumError(error, "RATE_LIMITED")).toBe(true);
    expect((error as { details: unknown }).details).toMatchObject({ retryAfterMs: 1500, limitedBy: "apiKey" });
  });
});

describe("concurrency", () => {
  it("200 parallel calls over four connections: exactly `limit` allowed", async () => {
    const ls = [limiter(), limiter(), limiter(), limiter()];
    const key = { tenantId: randomUUID(), apiKey: `sk_${randomUUID()}` };
    const rule = { limit: 37, windowMs: 30_000 };
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => ls[i % 4]!.limit(key, rule)));
    expect(results.filter((r) => r.allowed)).toHaveLength(37);
    expect(results.every((r) => !r.degraded)).toBe(true);
    const counted = await redis.keys(`${prefix}:*t:${key.tenantId}:*`);
    expect(await redis.zcard(counted[0]!)).toBe(37);
  });
});

describe("when Redis is unreachable", () => {
  const dead = "redis://127.0.0.1:1";

  it("fail-open lets requests through, marked degraded, and reports the error", async () => {
    const errors: unknown[] = [];
    const l = limiter({ redis: dead, failMode: "open", timeoutMs: 200, onError: (e) => errors.push(e) });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await l.limit({ tenantId: "t1" }, { limit: 1, windowMs: 1000 }));
    expect(results.every((r) => r.allowed && r.degraded)).toBe(true);
    expect(errors).toHaveLength(5);
  });

  it("fail-closed refuses with RATE_LIMITED saying the limiter is unavailable", async () => {
    const l = limiter({ redis: dead, failMode: "closed", timeoutMs: 200 });
    const error = await l.limit({ apiKey: "sk_x" }, { limit: 100, windowMs: 1000 }).catch((e: unknown) => e);
    expect(isStratumError(error, "RATE_LIMITED")).toBe(true);
    expect((error as Error).message).toMatch(/unavailable/);
    expect((error as { details: unknown }).details).toMatchObject({ reason: "limiter_unavailable" });
  });

  it("a given connection that goes away is treated the same, and is not closed by the limiter", async () => {
    const own = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    const open = createRateLimiter({ redis: own, prefix, failMode: "open", timeoutMs: 200 });
    const closed = createRateLimiter({ redis: own, prefix, failMode: "closed", timeoutMs: 200 });
    expect((await open.limit({ tenantId: "shared" }, { limit: 5, windowMs: 1000 })).degraded).toBe(false);
    await open.close();
    expect(own.status).toBe("ready");
    own.disconnect();
    expect((await open.limit({ tenantId: "shared" }, { limit: 5, windowMs: 1000 })).degraded).toBe(true);
    const error = await closed.limit({ tenantId: "shared" }, { limit: 5, windowMs: 1000 }).catch((e: unknown) => e);
    expect(isStratumError(error, "RATE_LIMITED")).toBe(true);
  });
});
