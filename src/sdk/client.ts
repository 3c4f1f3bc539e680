/** `stratum({ controlPlaneUrl, apiKey })`: the control plane over HTTP, with a read cache and middleware. */
import type { FastifyPluginCallback } from "fastify";
import { StratumError } from "../core/errors.js";
import { createCache, type CacheOptions, type CacheStats } from "./cache.js";
import { expressMiddleware, type ConnectMiddleware, type ExpressTenantOptions } from "./express.js";
import { fastifyTenantPlugin, type FastifyTenantOptions } from "./fastify.js";
import { createTransport } from "./http.js";
import { createTenantResolver, type HeaderReader, type RequestTenant, type TenantMiddlewareOptions } from "./resolve.js";
import { apiKeysApi, auditApi, isolationApi, type ApiKeysApi, type AuditApi, type IsolationApi } from "./resources/admin.js";
import { complianceApi, type ComplianceApi } from "./resources/compliance.js";
import { configApi, type ConfigApi } from "./resources/config.js";
import { permissionsApi, policiesApi, type PermissionsApi, type PoliciesApi } from "./resources/permissions.js";
import { operationsApi, type OperationsApi } from "./resources/operations.js";
import { rolesApi, type RolesApi } from "./resources/roles.js";
import { tenantsApi, type TenantsApi } from "./resources/tenants.js";
import { webhooksApi, type WebhooksApi } from "./resources/webhooks.js";

export interface StratumSdkOptions {
  /** Where the control plane listens, e.g. http://localhost:3001 (with or without /api/v1). */
  controlPlaneUrl: string;
  /** Sent as X-API-Key. */
  apiKey: string;
  /** Read cache for tenants, resolved config and resolved permissions; false turns it off. */
  cache?: CacheOptions | false;
  /** A fetch implementation; default the global one (Node ≥ 20). */
  fetch?: typeof fetch;
  /** Per attempt, default 10 000 ms. */
  timeoutMs?: number;
  /** Extra attempts for idempotent requests (GET, PUT, DELETE) after a network error or timeout; default 2. */
  retries?: number;
  /** First retry delay, doubled per attempt with jitter; default 100 ms. */
  retryDelayMs?: number;
}

/** A header source: a Fetch `Headers` (Next's `headers()` too) or a plain `{ get }`. */
export interface HeaderSource {
  get(name: string): string | null;
}

export interface StratumSdk {
  tenants: TenantsApi;
  config: ConfigApi;
  permissions: PermissionsApi;
  policies: PoliciesApi;
  /** Named sets of scopes, inherited like permissions, assigned to API keys and the app's users. */
  roles: RolesApi;
  isolation: IsolationApi;
  audit: AuditApi;
  apiKeys: ApiKeysApi;
  webhooks: WebhooksApi;
  /** GDPR export / purge, subject rights and consents. */
  compliance: ComplianceApi;
  /** Retention, encryption-key rotation, the tenant-home fan-out (keys without a tenant, ops:* scopes). */
  ops: OperationsApi;
  cache: { clear(): void; stats(): CacheStats };
  /** Express / connect middleware: sets `req.tenant` and runs the rest of the request in the tenant's context. */
  middleware(options?: ExpressTenantOptions): ConnectMiddleware;
  /** Fastify 5 plugin: `app.register(s.fastifyPlugin())`; sets `request.tenant` and the tenant context. */
  fastifyPlugin(options?: FastifyTenantOptions): FastifyPluginCallback;
  /**
   * Resolves the tenant of a Fetch-style request's headers (Next.js route handlers, server
   * actions, any Request). Throws StratumError (or StratumTransportError) when it cannot, with
   * the HTTP status the middleware would answer in `details.http_status`.
   */
  resolveTenant<Req = unknown>(headers: HeaderSource, options?: TenantMiddlewareOptions<Req>, req?: Req): Promise<RequestTenant | null>;
}

/** The HTTP client of the control plane (not the Prisma extension, which is `stratum` in stratum-prisma). */
export function createStratumSdk(options: StratumSdkOptions): StratumSdk {
  if (!options.controlPlaneUrl) throw new StratumError("VALIDATION_FAILED", "createStratumSdk({ controlPlaneUrl }) is required", { field: "controlPlaneUrl" });
  if (!options.apiKey) throw new StratumError("VALIDATION_FAILED", "createStratumSdk({ apiKey }) is required", { field: "apiKey" });
  const http = createTransport(options);
  const cache = createCache(options.cache);
  const client = {
    tenants: tenantsApi(http, cache),
    config: configApi(http, cache),
    permissions: permissionsApi(http, cache),
  };
  // One resolver per distinct options object, so repeated calls with the same options reuse the verifier (and its JWKS cache).
  const resolvers = new WeakMap<object, ReturnType<typeof createTenantResolver>>();
  const defaultResolver = createTenantResolver<unknown>(client, {});

  return {
    ...client,
    policies: policiesApi(http),
    roles: rolesApi(http, cache),
    isolation: isolationApi(http, cache),
    audit: auditApi(http),
    apiKeys: apiKeysApi(http),
    webhooks: webhooksApi(http),
    compliance: complianceApi(http, cache),
    ops: operationsApi(http),
    cache: { clear: () => cache.clear(), stats: () => cache.stats() },
    middleware: (middlewareOptions) => expressMiddleware(client, middlewareOptions),
    fastifyPlugin: (pluginOptions) => fastifyTenantPlugin(client, pluginOptions),
    async resolveTenant(headers, resolveOptions, req) {
      let resolver = resolveOptions ? resolvers.get(resolveOptions) : defaultResolver;
      if (!resolver && resolveOptions) {
        resolver = createTenantResolver<unknown>(client, resolveOptions as TenantMiddlewareOptions<unknown>);
        resolvers.set(resolveOptions, resolver);
      }
      const read: HeaderReader = (name) => headers.get(name) ?? undefined;
      const resolution = await resolver!(read, req);
      if (resolution.ok) return resolution.tenant;
      const { error, status } = resolution;
      throw error instanceof StratumError ? new StratumError(error.code, error.message, { ...error.details, http_status: status }) : error;
    },
  };
}

/**
 * @deprecated Use `createStratumSdk`: `stratum` also names the Prisma extension in `stratum-prisma`,
 * and an app importing both had to rename one. Kept so existing imports work.
 */
export const stratum: (options: StratumSdkOptions) => StratumSdk = createStratumSdk;
