import type { FastifyServerOptions } from "fastify";
import type { Redis, RedisOptions } from "ioredis";
import type { StratumServices } from "../extension/services.js";
import type { RateLimiter, RateLimitRules } from "../ratelimit/index.js";
import type { Guard } from "./auth.js";
import type { AuthFailureLimit } from "./auth-failures.js";
import type { ControlPlaneJwtOptions } from "./jwt-auth.js";

/** Any client extended with `stratum(...)`: the control plane needs only `$stratum`. */
export interface StratumClient {
  $stratum: StratumServices;
}

export interface ControlPlaneRateLimit {
  /** Requests allowed per API key (and per tenant, for tenant keys) in each window. */
  rules: RateLimitRules;
  /** A limiter to use (shared, not closed with the server), or `redis` to build one. */
  limiter?: RateLimiter;
  /** ioredis instance, options or redis:// URL; a limiter built from it closes with the server. */
  redis?: Redis | RedisOptions | string;
  /** When Redis cannot answer: let requests through (default "open") or refuse them with 429. */
  failMode?: "open" | "closed";
  /** Redis key prefix; default "stratum:rl". */
  prefix?: string;
}

export interface ControlPlaneOptions {
  /** The stratum-extended Prisma client. */
  prisma: StratumClient;
  /**
   * A key accepted with every scope and no tenant limit, for first setup (create the first real
   * keys with it, then drop it). Not stored anywhere; compare env STRATUM_BOOTSTRAP_KEY in `stratum serve`.
   * At least 16 characters.
   */
  bootstrapKey?: string;
  /** Redis sliding-window limits per API key and tenant; none when omitted. */
  rateLimit?: ControlPlaneRateLimit;
  /** Fastify's logger option (default false). */
  logger?: FastifyServerOptions["logger"];
  /** Largest accepted request body in bytes; default 1 MiB. */
  bodyLimit?: number;
  /**
   * Wrong keys allowed per source address before it gets 429 (default 20 per minute);
   * `false` turns it off (only behind a proxy that limits them itself).
   */
  authFailureLimit?: AuthFailureLimit | false;
  /**
   * Bearer JWTs (OIDC) accepted beside API keys: verified with jose (`jwksUrl`, `key` or `secret`),
   * mapped to scopes (claim `scope`/`scp`) and a subtree (claim `tenant_id`). docs/server.md "Signing in with a JWT".
   */
  jwt?: ControlPlaneJwtOptions;
  /** Browser origins allowed to call the API (CORS); none when omitted. */
  cors?: { origin: string | string[] | boolean; credentials?: boolean };
  /** Security headers (@fastify/helmet); on unless false. */
  helmet?: boolean;
  /** Swagger UI at /docs; on unless false. */
  docs?: boolean;
}

/** What every route module receives. */
export interface RouteDeps {
  stratum: StratumServices;
  guard: Guard;
}
