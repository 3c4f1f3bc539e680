/**
 * Per-key (and per-tenant, for tenant keys) limits on the Redis sliding window of src/ratelimit.
 * Counted after authentication, so a flood of bad keys cannot spend a real key's budget.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { StratumError } from "../core/errors.js";
import { createRateLimiter, type RateLimiter, type RateLimitRules } from "../ratelimit/index.js";
import type { Principal } from "./auth.js";
import type { ControlPlaneRateLimit } from "./types.js";

export interface RequestLimiter {
  check(request: FastifyRequest, reply: FastifyReply, principal: Principal): Promise<void>;
  /** Resolves when Redis answers (readiness); rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A key's own per-minute limit replaces the server's per-key rule; the tenant rule stays. */
function rulesFor(rules: RateLimitRules, principal: Principal): RateLimitRules {
  if (principal.rateLimit === null) return rules;
  const tenant = "apiKey" in rules ? rules.tenant : rules;
  return { apiKey: { limit: principal.rateLimit, windowMs: 60_000 }, tenant };
}

export function createRequestLimiter(options: ControlPlaneRateLimit, onError: (error: unknown) => void): RequestLimiter {
  let limiter: RateLimiter;
  let owned = false;
  if (options.limiter) {
    limiter = options.limiter;
  } else if (options.redis !== undefined) {
    limiter = createRateLimiter({
      redis: options.redis,
      failMode: options.failMode ?? "open",
      onError,
      ...(options.prefix ? { prefix: options.prefix } : {}),
    });
    owned = true;
  } else {
    throw new StratumError("VALIDATION_FAILED", "createControlPlane: rateLimit needs `limiter` or `redis`.", { field: "rateLimit" });
  }
  return {
    async check(_request, reply, principal) {
      const key = { apiKey: principal.id, scope: "api", ...(principal.tenantId ? { tenantId: principal.tenantId } : {}) };
      // enforce throws RATE_LIMITED (details.retryAfterMs); the error handler turns it into 429 + Retry-After.
      const result = await limiter.enforce(key, rulesFor(options.rules, principal));
      void reply.header("x-ratelimit-remaining", String(result.remaining));
    },
    // A reset of a key nobody uses: a real round trip (SCAN) that changes nothing.
    ping: () => limiter.reset({ apiKey: "stratum-readiness-probe", scope: "ready" }),
    async close() {
      if (owned) await limiter.close();
    },
  };
}
