/** stratum-prisma: hierarchical multi-tenancy for Prisma 7 on PostgreSQL. */
export { stratum, type StratumOptions, type TenantClientOptions } from "./extension/stratum.js";
export type { StratumServices } from "./extension/stratum-services.js";
export { runWithTenant, currentTenant } from "./extension/context.js";
export { runWithActor, currentActor } from "./audit/index.js";
export { stratumAdapter, type StratumAdapterOptions, type StratumAdapterFactory } from "./isolation/adapter.js";
export { StratumError, isStratumError, type ErrorCode } from "./core/errors.js";
export type { Tenant, TenantStatus, IsolationStrategyName } from "./core/types.js";
export type { StratumModels, StratumModel } from "./core/models.js";
export type { Actor } from "./core/ports.js";
// Documented building blocks (docs/config.md, docs/ratelimit.md, docs/webhooks.md): the change
// buses for config caches across processes, the Redis rate limiter, and the receiver-side check
// of a webhook's signature.
export { createPgChangeBus, createRedisChangeBus, type PgChangeBusOptions, type RedisChangeBusOptions, type ReconnectingBus } from "./config/index.js";
export { createRateLimiter, type RateLimiter, type RateLimiterOptions, type RateLimitRule, type RateLimitResult } from "./ratelimit/index.js";
export { verifyWebhookSignature, type VerifyOptions, type WebhookVerification } from "./webhooks/index.js";
