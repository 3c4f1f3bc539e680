/** stratum-prisma/sdk: the control plane over HTTP, with a read cache and tenant middleware. */
export { createStratumSdk, stratum, type StratumSdk, type StratumSdkOptions, type HeaderSource } from "./client.js";
export { StratumError, isStratumError, type ErrorCode } from "../core/errors.js";
export { StratumTransportError, isSdkError, TransportErrorCodes, type TransportErrorCode, type SdkErrorCode } from "./errors.js";
export type { CacheOptions, CacheStats } from "./cache.js";
export type { RequestTenant, Impersonation, TenantMiddlewareOptions, TenantSource } from "./resolve.js";
export type { ImpersonationOptions, ImpersonationRequest } from "./impersonation.js";
export type { JwtOptions, JwtClaims } from "./jwt.js";
export type { ConnectMiddleware, ExpressTenantOptions } from "./express.js";
export type { FastifyTenantOptions } from "./fastify.js";
export type { TenantsApi, TenantBatchResult, TenantContext } from "./resources/tenants.js";
export type { ConfigApi } from "./resources/config.js";
export type { PermissionsApi, PoliciesApi, EvaluateInput } from "./resources/permissions.js";
export type { OperationsApi, RetentionPolicyInput, KeyRotationRecord, FanOutRecord } from "./resources/operations.js";
export type {
  RolesApi,
  RoleRecord,
  RoleAssignmentRecord,
  DefineRoleInput,
  UpdateRoleInput,
  PrincipalRef,
  PrincipalScopes,
  ResolvedRole,
} from "./resources/roles.js";
export type { IsolationApi, AuditApi, ApiKeysApi, AppendAuditInput } from "./resources/admin.js";
export type { ComplianceApi } from "./resources/compliance.js";
export type { WebhooksApi, WebhookInput, WebhookRecord, DeliveryRecord, WebhookStatsRecord, WebhookEventType } from "./resources/webhooks.js";
export type * from "./types.js";
