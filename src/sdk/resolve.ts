/**
 * Which tenant a request acts for, independent of the web framework: the Express, Fastify and
 * Next.js adapters only read headers and write the answer.
 *
 * Order: the tenant header, then a verified JWT claim, then the app's own resolveTenant. When
 * both a header and a verified token name a tenant they must agree, so a token holder cannot
 * switch tenants by adding a header. The tenant is then looked up (cached) so an unknown id is a
 * 404 here rather than an empty page later.
 */
import { isStratumError, type StratumError, type ErrorCode } from "../core/errors.js";
import type { IsolationStrategyName, TenantStatus } from "../core/types.js";
import type { StratumTransportError } from "./errors.js";
import { checkImpersonation, type ImpersonationOptions } from "./impersonation.js";
import { bearerToken, createTokenVerifier, type JwtClaims, type JwtOptions } from "./jwt.js";
import { assertTenantId, lookUp, refuse, Refusal, upstream, type ResolverClient, type TenantSource } from "./refusal.js";
import type { ResolvedConfig, ResolvedPermissions, TenantRecord } from "./types.js";

export type { ResolverClient, TenantSource };

/** Who really made an impersonated request: log it, audit it. */
export interface Impersonation {
  /** The caller's own tenant. */
  actor_tenant_id: string;
  /** How the caller's own tenant was established. */
  actor_source: TenantSource;
  /** The token's `sub` when a JWT identified the caller. */
  actor_subject: string | null;
}

/** `req.tenant`: the seeds' shape (tenant_id, resolved_config, resolved_permissions, isolation_strategy) and where it came from. */
export interface RequestTenant {
  tenant_id: string;
  tenant: TenantRecord;
  isolation_strategy: IsolationStrategyName;
  /** Null when `include.config` is false. */
  resolved_config: ResolvedConfig | null;
  /** Null when `include.permissions` is false. */
  resolved_permissions: ResolvedPermissions | null;
  source: TenantSource;
  /** The verified token's claims, when a JWT was presented. */
  claims: JwtClaims | null;
  /** Set when the caller acts as one of its descendants. */
  impersonation: Impersonation | null;
}

export interface TenantMiddlewareOptions<Req = unknown> {
  /** Header naming the tenant id; default "x-tenant-id"; false to ignore headers (trust only tokens). */
  header?: string | false;
  /** Read the tenant from a verified `Authorization: Bearer` JWT. */
  jwt?: JwtOptions;
  /** Last resort: your own lookup (subdomain, session…). Return null when it finds none. */
  resolveTenant?: (req: Req) => string | null | undefined | Promise<string | null | undefined>;
  /** Let requests without a tenant through (req.tenant null) instead of answering 400. */
  optional?: boolean;
  /** Let permitted callers act as a descendant tenant through a header. Off by default. */
  impersonation?: ImpersonationOptions<Req>;
  /** What to load with the tenant; both default true (the seeds' req.tenant). */
  include?: { config?: boolean; permissions?: boolean };
  /** Statuses allowed through; default only "active" (suspended and archived tenants get 403). */
  allowStatuses?: readonly TenantStatus[];
}

/** Reads one request header (lower-case name); adapters supply it. */
export type HeaderReader = (name: string) => string | undefined;

export type Resolution = { ok: true; tenant: RequestTenant | null } | { ok: false; status: number; error: StratumError | StratumTransportError };

export function createTenantResolver<Req>(client: ResolverClient, options: TenantMiddlewareOptions<Req> = {}) {
  const headerName = options.header === false ? null : (options.header ?? "x-tenant-id").toLowerCase();
  const verifyToken = options.jwt ? createTokenVerifier(options.jwt) : null;
  const claimName = options.jwt?.claim ?? "tenant_id";
  const includeConfig = options.include?.config ?? true;
  const includePermissions = options.include?.permissions ?? true;
  const allowStatuses = options.allowStatuses ?? ["active"];

  async function claimsOf(header: HeaderReader): Promise<JwtClaims | null> {
    const token = verifyToken ? bearerToken(header("authorization")) : null;
    if (!verifyToken || !token) return null;
    try {
      return await verifyToken(token);
    } catch (error) {
      // jose not installed is the deployment's fault, not the caller's token: never a 401
      if (isStratumError(error, "PEER_DEPENDENCY_MISSING")) throw error;
      throw refuse(401, "UNAUTHORIZED", "The bearer token is not valid (signature, expiry, issuer or audience).");
    }
  }

  async function identify(header: HeaderReader, req: Req): Promise<{ id: string; source: TenantSource; claims: JwtClaims | null } | null> {
    const fromHeader = headerName ? header(headerName)?.trim() || null : null;
    const claims = await claimsOf(header);
    const claimed = claims?.[claimName];
    const fromToken = typeof claimed === "string" && claimed.length > 0 ? claimed : null;
    if (fromHeader && fromToken && fromHeader !== fromToken) {
      throw refuse(403, "FORBIDDEN", `The ${headerName} header names another tenant than the bearer token.`);
    }
    if (fromHeader) return { id: fromHeader, source: "header", claims };
    if (fromToken) return { id: fromToken, source: "jwt", claims };
    const custom = options.resolveTenant ? await options.resolveTenant(req) : null;
    return custom ? { id: custom, source: "custom", claims } : null;
  }

  function checkStatus(tenant: TenantRecord): void {
    if (allowStatuses.includes(tenant.status)) return;
    const code: ErrorCode = tenant.status === "archived" ? "TENANT_ARCHIVED" : "TENANT_SUSPENDED";
    throw refuse(403, code, `Tenant ${tenant.id} is ${tenant.status}.`);
  }

  async function resolve(header: HeaderReader, req: Req): Promise<RequestTenant | null> {
    const caller = await identify(header, req);
    const impersonateHeader = (options.impersonation?.header ?? "x-impersonate-tenant").toLowerCase();
    const target = header(impersonateHeader)?.trim() || null;
    if (!caller) {
      if (target) throw refuse(403, "FORBIDDEN", "Impersonation needs an identified caller tenant.");
      if (options.optional) return null;
      const how = [headerName ? `the ${headerName} header` : null, verifyToken ? "a bearer token" : null].filter(Boolean).join(" or ");
      throw refuse(400, "NO_TENANT_CONTEXT", `No tenant: send ${how || "a tenant"}.`);
    }
    assertTenantId(
      caller.id,
      caller.source === "header" ? `The ${headerName} header` : caller.source === "jwt" ? `The token's ${claimName} claim` : "resolveTenant's answer",
    );
    const own = await lookUp(client, caller.id);
    checkStatus(own);
    let tenant = own;
    let impersonation: Impersonation | null = null;
    if (target) {
      tenant = await checkImpersonation(client, options.impersonation, { caller: own, source: caller.source, claims: caller.claims, targetId: target, req });
      checkStatus(tenant);
      const subject = caller.claims?.sub;
      impersonation = { actor_tenant_id: own.id, actor_source: caller.source, actor_subject: typeof subject === "string" ? subject : null };
    }
    const [config, permissions] = await Promise.all([
      includeConfig ? client.config.resolve(tenant.id) : null,
      includePermissions ? client.permissions.resolve(tenant.id) : null,
    ]).catch((error: unknown) => {
      throw upstream(error);
    });
    return {
      tenant_id: tenant.id,
      tenant,
      isolation_strategy: tenant.isolation_strategy,
      resolved_config: config,
      resolved_permissions: permissions,
      source: caller.source,
      claims: caller.claims,
      impersonation,
    };
  }

  return async function resolveRequest(header: HeaderReader, req: Req): Promise<Resolution> {
    try {
      return { ok: true, tenant: await resolve(header, req) };
    } catch (error) {
      if (error instanceof Refusal) return { ok: false, status: error.status, error: error.error };
      throw error;
    }
  };
}

/** The JSON body of a refusal: the control plane's error shape. */
export function refusalBody(error: StratumError | StratumTransportError): { error: { code: string; message: string } } {
  return { error: { code: error.code, message: error.message } };
}
