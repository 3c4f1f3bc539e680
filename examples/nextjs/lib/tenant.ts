/**
 * Which tenant a request acts for, from its headers: the X-Tenant-ID header, else the
 * `stratum_tenant` cookie the page's tenant picker sets. No `next/*` import: server actions pass
 * `await headers()`, tests pass a standard `Headers`.
 *
 * The header or cookie only NAMES a tenant. In a real app, derive it from the authenticated
 * session (in middleware) before it reaches here; this example trusts it to stay small.
 *
 * Two resolvers with the same answers and refusals: a local one that looks the tenant up through
 * `$stratum`, and one through the SDK's `stratum-prisma/next` helpers when a control plane runs
 * (STRATUM_CONTROL_PLANE_URL + STRATUM_API_KEY), which caches lookups across requests.
 */
import { runWithTenant, StratumError, type IsolationStrategyName, type Tenant } from "../../../src/index.js";
import { nextTenant } from "../../../src/next/index.js";
import { stratum as stratumSdk, type HeaderSource } from "../../../src/sdk/index.js";
import type { StratumPrisma } from "./stratum.js";

export type { HeaderSource };

export const TENANT_HEADER = "x-tenant-id";
export const TENANT_COOKIE = "stratum_tenant";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ResolvedTenant {
  tenant_id: string;
  name: string;
  slug: string;
  isolation_strategy: IsolationStrategyName;
}

export type TenantResolver = (headers: HeaderSource) => Promise<ResolvedTenant>;

/**
 * A stratum refusal, recognised by shape rather than `instanceof`: under `next dev` the library
 * can be compiled into more than one bundle layer, each with its own StratumError class, and an
 * instanceof miss turned "no tenant yet" into a 500 instead of the picker.
 */
export function isStratumRefusal(error: unknown): error is { code: string; message: string; details?: Readonly<Record<string, unknown>> } {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { name?: unknown }).name === "StratumError" &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

/** The id the request names (header first, then cookie), or null. */
export function requestedTenantId(headers: HeaderSource): string | null {
  const header = headers.get(TENANT_HEADER)?.trim();
  if (header) return header;
  for (const part of (headers.get("cookie") ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === TENANT_COOKIE) return decodeURIComponent(value.join("=")).trim() || null;
  }
  return null;
}

// Same shape as the SDK's refusals, so callers handle both resolvers alike.
const refuse = (status: number, code: ConstructorParameters<typeof StratumError>[0], message: string) =>
  new StratumError(code, message, { http_status: status });

const resolved = (t: Pick<Tenant, "id" | "name" | "slug" | "isolation_strategy">): ResolvedTenant => ({
  tenant_id: t.id,
  name: t.name,
  slug: t.slug,
  isolation_strategy: t.isolation_strategy,
});

/** Looks the tenant up in the database; only active tenants pass. */
export function localTenantResolver(db: Pick<StratumPrisma, "$stratum">): TenantResolver {
  return async (headers) => {
    const id = requestedTenantId(headers);
    if (!id) throw refuse(400, "NO_TENANT_CONTEXT", `No tenant: send the ${TENANT_HEADER} header or pick a tenant (cookie ${TENANT_COOKIE}).`);
    if (!UUID.test(id)) throw refuse(400, "VALIDATION_FAILED", `${TENANT_HEADER} must be a tenant id (a uuid).`);
    let tenant: Tenant;
    try {
      tenant = await db.$stratum.getTenant(id);
    } catch (error) {
      if (isStratumRefusal(error) && error.code === "TENANT_NOT_FOUND") throw refuse(404, "TENANT_NOT_FOUND", `Tenant ${id} does not exist.`);
      throw error;
    }
    if (tenant.status !== "active") {
      throw refuse(403, tenant.status === "archived" ? "TENANT_ARCHIVED" : "TENANT_SUSPENDED", `Tenant ${id} is ${tenant.status}.`);
    }
    return resolved(tenant);
  };
}

/** The SDK's Next.js helper against a running control plane. */
export function sdkTenantResolver(options: { controlPlaneUrl: string; apiKey: string }): TenantResolver {
  // The app only needs the tenant record here, not its resolved config and permissions.
  const { getTenant } = nextTenant(stratumSdk(options), { header: TENANT_HEADER, include: { config: false, permissions: false } });
  return async (headers) => {
    // The SDK reads one header; hand it the cookie's tenant when the header is absent.
    const withCookie: HeaderSource = { get: (name) => (name.toLowerCase() === TENANT_HEADER ? requestedTenantId(headers) : headers.get(name)) };
    return resolved((await getTenant(withCookie)).tenant);
  };
}

export function tenantResolverFromEnv(db: Pick<StratumPrisma, "$stratum">, env: NodeJS.ProcessEnv = process.env): TenantResolver {
  const { STRATUM_CONTROL_PLANE_URL: controlPlaneUrl, STRATUM_API_KEY: apiKey } = env;
  return controlPlaneUrl && apiKey ? sdkTenantResolver({ controlPlaneUrl, apiKey }) : localTenantResolver(db);
}

/** Resolves the request's tenant and runs fn inside it: plain model calls in fn see only its rows. */
export async function runAsRequestTenant<R>(resolve: TenantResolver, headers: HeaderSource, fn: (tenant: ResolvedTenant) => R | Promise<R>): Promise<R> {
  const tenant = await resolve(headers);
  return runWithTenant(tenant.tenant_id, () => fn(tenant));
}

// One resolver per process (it may hold the SDK's lookup cache), kept across `next dev` reloads.
const cache = globalThis as typeof globalThis & { stratumExampleResolver?: TenantResolver };

/** The resolver the app's actions and route handlers use, chosen from the environment on first use. */
export function appTenantResolver(db: Pick<StratumPrisma, "$stratum">): TenantResolver {
  cache.stratumExampleResolver ??= tenantResolverFromEnv(db);
  return cache.stratumExampleResolver;
}
