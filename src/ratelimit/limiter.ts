/**
 * Rate limiting on Redis: a sliding-window log per API key and per tenant, checked and recorded
 * by one Lua script, so concurrent callers (any number of processes) can never let more than
 * `limit` requests through in any `windowMs`-long span.
 *
 * Each key is a sorted set of request timestamps. The script drops entries older than the window,
 * counts what is left for every key of the call, and only if every key is under its limit adds
 * the request to all of them: a refused request costs nothing, and the stricter key decides.
 * Time comes from Redis (`TIME`) unless a clock is given, so app servers with skewed clocks agree.
 *
 * Memory is O(limit) per active key (one entry per counted request, expiring with the window):
 * fine for API limits (hundreds to tens of thousands per window), not for millions.
 * Several keys in one script need one Redis node: on Redis Cluster give `prefix` a hash tag
 * (e.g. `{rl}`), which puts every limiter key on one slot.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Redis, RedisOptions } from "ioredis";
import { z } from "zod";
import { StratumError } from "../core/errors.js";
import { loadOptionalPeer } from "../core/optional-peer.js";
import { closeRedis, outageReporter } from "../core/outage.js";
import { validate } from "../core/validate.js";

export interface RateLimitRule {
  /** Requests allowed in any window. */
  limit: number;
  windowMs: number;
}

export interface RateLimitKey {
  apiKey?: string;
  tenantId?: string;
  /** Separates limits of different routes or operations (e.g. "export"); default none. */
  scope?: string;
}

/** One rule for every key given, or one per kind of key. */
export type RateLimitRules = RateLimitRule | { apiKey: RateLimitRule; tenant: RateLimitRule };

export interface RateLimitResult {
  allowed: boolean;
  /** Requests left in the window for the stricter key, after this one. */
  remaining: number;
  /** Ms until the stricter key's oldest counted request leaves the window (remaining goes up). */
  resetMs: number;
  /** 0 when allowed; otherwise ms until a retry can succeed. */
  retryAfterMs: number;
  /** Which key refused (or is closest to refusing). */
  limitedBy: "apiKey" | "tenant";
  /** True when Redis could not be asked and failMode "open" let the request through uncounted. */
  degraded: boolean;
}

export interface RateLimiterOptions {
  /** An ioredis instance (used as is, never closed here), ioredis options, or a redis:// URL. */
  redis: Redis | RedisOptions | string;
  /** Key prefix; default "stratum:rl". */
  prefix?: string;
  /** When Redis cannot answer: let requests through ("open") or refuse them ("closed"). */
  failMode: "open" | "closed";
  /** How long one check may wait for Redis before it counts as unavailable, ms; default 500. */
  timeoutMs?: number;
  /** Source of time in ms (tests); default Redis's own clock. */
  clock?: () => number;
  /** Told about every unavailable check (log it: fail-open hides outages otherwise). */
  onError?: (error: unknown) => void;
}

export interface RateLimiter {
  limit(key: RateLimitKey, rule: RateLimitRules): Promise<RateLimitResult>;
  /** `limit`, throwing RATE_LIMITED (details: retryAfterMs, resetMs, limitedBy) when refused. */
  enforce(key: RateLimitKey, rule: RateLimitRules): Promise<RateLimitResult>;
  /** Forgets the recorded requests of a key (all its windows). */
  reset(key: RateLimitKey): Promise<void>;
  /** Closes the connection if the limiter opened it. */
  close(): Promise<void>;
}

const SLIDING_WINDOW_LUA = `
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local member = ARGV[2]
local n = #KEYS
local counts = {}
local allowed = 1
for i = 1, n do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  counts[i] = redis.call('ZCARD', KEYS[i])
  if counts[i] >= limit then allowed = 0 end
end
local out = { allowed, now }
for i = 1, n do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  if allowed == 1 then
    redis.call('ZADD', KEYS[i], now, member)
    redis.call('PEXPIRE', KEYS[i], window)
    counts[i] = counts[i] + 1
  end
  local c = counts[i]
  local reset = 0
  local retry = 0
  if c > 0 then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    reset = tonumber(oldest[2]) + window - now
  end
  if allowed == 0 and c >= limit then
    local e = redis.call('ZRANGE', KEYS[i], c - limit, c - limit, 'WITHSCORES')
    retry = tonumber(e[2]) + window - now
  end
  out[#out + 1] = c
  out[#out + 1] = reset
  out[#out + 1] = retry
end
return out
`;

const COMMAND = "stratumSlidingWindow";

type WithCommand = Redis & { [COMMAND](numKeys: number, ...args: Array<string | number>): Promise<number[]> };

const ruleSchema = z.object({
  limit: z.number().int().min(1).max(1_000_000),
  windowMs: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600 * 1000),
});
const rulesSchema = z.union([ruleSchema, z.object({ apiKey: ruleSchema, tenant: ruleSchema })]);
const keySchema = z
  .object({
    apiKey: z.string().min(1).max(1000).optional(),
    tenantId: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits and _ . -")
      .optional(),
    scope: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits and _ . -")
      .optional(),
  })
  .refine((k) => k.apiKey !== undefined || k.tenantId !== undefined, "give an apiKey, a tenantId or both");

function isRedis(value: RateLimiterOptions["redis"]): value is Redis {
  return typeof value === "object" && value !== null && typeof (value as Redis).defineCommand === "function";
}

/** The API key never reaches Redis: its keys use a SHA-256 digest. */
function digest(apiKey: string): string {
  return createHash("sha256").update(apiKey).digest("base64url").slice(0, 32);
}

const READY_STATES = new Set(["ready", "connect", "connecting", "wait"]);

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const failMode = validate(z.enum(["open", "closed"]), options.failMode, "failMode");
  const prefix = options.prefix ?? "stratum:rl";
  const timeoutMs = options.timeoutMs ?? 500;
  // Without an onError, one warning per outage (not one per refused or waved-through request).
  const outage = outageReporter(
    "rate limiter",
    options.failMode === "closed"
      ? 'Requests are refused with RATE_LIMITED (failMode "closed") until it is back.'
      : 'Requests go through uncounted (failMode "open", results marked degraded) until it is back.',
  );
  const onError = options.onError ?? ((error: unknown) => outage.down(error));
  const owned = !isRedis(options.redis);
  const redis = options.redis;
  // ioredis is an optional peer, imported on first use; a limiter given its own client never
  // imports it. A missing ioredis rejects every check with PEER_DEPENDENCY_MISSING, whatever the
  // failMode: it is an installation fault, not an outage to wave requests through.
  const connecting: Promise<Redis> = isRedis(redis)
    ? Promise.resolve(redis)
    : loadOptionalPeer("ioredis", "createRateLimiter").then(({ Redis: RedisClient }) =>
        typeof redis === "string"
          ? new RedisClient(redis, { maxRetriesPerRequest: 1, connectTimeout: Math.max(timeoutMs, 1000) })
          : new RedisClient({ maxRetriesPerRequest: 1, connectTimeout: Math.max(timeoutMs, 1000), ...redis }),
      );
  const ready = connecting.then((client) => {
    if (owned) client.on("error", () => undefined); // reported per check through onError
    client.on("ready", () => outage.up());
    if (typeof (client as unknown as Partial<Record<typeof COMMAND, unknown>>)[COMMAND] !== "function") {
      client.defineCommand(COMMAND, { lua: SLIDING_WINDOW_LUA });
    }
    return client;
  });
  ready.catch(() => undefined); // reported to each caller of limit/enforce/reset, not as unhandled

  function keysOf(key: RateLimitKey, rules: RateLimitRules) {
    const scope = key.scope ? `${key.scope}:` : "";
    const perKind = "apiKey" in rules ? rules : { apiKey: rules, tenant: rules };
    const out: Array<{ kind: "apiKey" | "tenant"; redisKey: string; rule: RateLimitRule }> = [];
    if (key.apiKey !== undefined) {
      const rule = perKind.apiKey;
      out.push({ kind: "apiKey", redisKey: `${prefix}:${scope}k:${digest(key.apiKey)}:${rule.windowMs}`, rule });
    }
    if (key.tenantId !== undefined) {
      const rule = perKind.tenant;
      out.push({ kind: "tenant", redisKey: `${prefix}:${scope}t:${key.tenantId}:${rule.windowMs}`, rule });
    }
    return out;
  }

  function unavailable(cause: unknown, limit: number, kind: "apiKey" | "tenant"): RateLimitResult {
    onError(cause);
    if (failMode === "closed") {
      throw new StratumError(
        "RATE_LIMITED",
        'The rate limiter is unavailable (Redis did not answer) and failMode is "closed", so the request is refused. Retry shortly; check Redis.',
        { reason: "limiter_unavailable", retryAfterMs: 1000 },
        { cause },
      );
    }
    return { allowed: true, remaining: limit, resetMs: 0, retryAfterMs: 0, limitedBy: kind, degraded: true };
  }

  async function run(client: Redis, keys: ReturnType<typeof keysOf>): Promise<number[]> {
    if (!READY_STATES.has(client.status)) throw new Error(`Redis connection is ${client.status}`);
    const args: Array<string | number> = [
      ...keys.map((k) => k.redisKey),
      options.clock ? String(Math.floor(options.clock())) : "",
      randomBytes(8).toString("hex"),
      ...keys.flatMap((k) => [k.rule.limit, k.rule.windowMs]),
    ];
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        (client as unknown as WithCommand)[COMMAND](keys.length, ...args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function limit(key: RateLimitKey, rules: RateLimitRules): Promise<RateLimitResult> {
    const k = validate(keySchema, key, "rate limit key");
    const r = validate(rulesSchema, rules, "rate limit rule");
    const keys = keysOf(k, r);
    const client = await ready;
    let reply: number[];
    try {
      reply = await run(client, keys);
    } catch (error) {
      return unavailable(error, Math.min(...keys.map((x) => x.rule.limit)), keys[0]!.kind);
    }
    const allowed = reply[0] === 1;
    const per = keys.map((x, i) => ({
      kind: x.kind,
      remaining: Math.max(0, x.rule.limit - reply[2 + 3 * i]!),
      resetMs: Math.max(0, reply[3 + 3 * i]!),
      retryAfterMs: Math.max(0, reply[4 + 3 * i]!),
    }));
    // The stricter key: fewest remaining; on a tie the one that frees up last.
    const strict = per.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a));
    const refusing = per.filter((p) => p.retryAfterMs > 0);
    const limitedBy = allowed ? strict : refusing.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a), refusing[0] ?? strict);
    return {
      allowed,
      remaining: strict.remaining,
      resetMs: strict.resetMs,
      retryAfterMs: allowed ? 0 : Math.max(1, ...per.map((p) => p.retryAfterMs)),
      limitedBy: limitedBy.kind,
      degraded: false,
    };
  }

  return {
    limit,
    async enforce(key, rules) {
      const result = await limit(key, rules);
      if (!result.allowed) {
        throw new StratumError(
          "RATE_LIMITED",
          `Rate limit exceeded for this ${result.limitedBy === "apiKey" ? "API key" : "tenant"}; retry in ${Math.ceil(result.retryAfterMs / 1000)} s.`,
          { retryAfterMs: result.retryAfterMs, resetMs: result.resetMs, limitedBy: result.limitedBy },
        );
      }
      return result;
    },
    async reset(key) {
      const k = validate(keySchema, key, "rate limit key");
      const scope = k.scope ? `${k.scope}:` : "";
      const patterns: string[] = [];
      if (k.apiKey !== undefined) patterns.push(`${prefix}:${scope}k:${digest(k.apiKey)}:*`);
      if (k.tenantId !== undefined) patterns.push(`${prefix}:${scope}t:${k.tenantId}:*`);
      const client = await ready;
      for (const match of patterns) {
        let cursor = "0";
        do {
          const [next, found] = await client.scan(cursor, "MATCH", match, "COUNT", 100);
          cursor = next;
          if (found.length > 0) await client.del(...found);
        } while (cursor !== "0");
      }
    },
    async close() {
      if (!owned) return;
      const client = await ready.catch(() => undefined); // never connected: nothing to close
      if (client) await closeRedis(client);
    },
  };
}
