/** stratum-prisma: hierarchical multi-tenancy for Prisma 7 on PostgreSQL. */
export { stratum, type StratumOptions, type TenantClientOptions } from "./extension/stratum.js";
export { runWithTenant, currentTenant } from "./extension/context.js";
export { runWithActor, currentActor } from "./audit/index.js";
export { stratumAdapter, type StratumAdapterOptions, type StratumAdapterFactory } from "./isolation/adapter.js";
export { StratumError, isStratumError, type ErrorCode } from "./core/errors.js";
export type { Tenant, TenantStatus, IsolationStrategyName } from "./core/types.js";
export type { StratumModels, StratumModel } from "./core/models.js";
export type { Actor } from "./core/ports.js";
