/**
 * Who is calling and what they may touch. A request names its key in `X-API-Key` (or
 * `Authorization: Bearer`); the key gives scopes and, optionally, a tenant whose subtree bounds
 * every tenant the request may address.
 *
 * Out-of-subtree and unknown tenants get the same 403 and the same message, so a restricted key
 * cannot probe which ids exist elsewhere in the tree.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { hasScope, type ApiKey, type ApiKeyScope } from "../apikeys/index.js";
import { isStratumError, StratumError } from "../core/errors.js";
import type { StratumServices } from "../extension/services.js";
import type { PrincipalRef } from "../roles/index.js";
import { createJwtAuthenticator, looksLikeJwt, type ControlPlaneJwtOptions } from "./jwt-auth.js";

export interface Principal {
  /** The key's id ("bootstrap" for the bootstrap key; `user:<sub>` for a JWT): the audit actor and the rate-limit key. */
  id: string;
  kind: "api_key" | "bootstrap" | "jwt";
  scopes: readonly string[];
  /** The subtree the key is limited to; null when unrestricted. */
  tenantId: string | null;
  /** The key's own requests per minute, overriding the server's per-key rule; null: the server's. */
  rateLimit: number | null;
  /**
   * Whose role assignments add to `scopes` (docs/server.md "Roles"): the key itself; null for the
   * bootstrap key, which needs none. `scopes` already holds what the roles give at `tenantId`.
   */
  roleHolder: PrincipalRef | null;
}

const principals = new WeakMap<FastifyRequest, Principal>();

export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  // Only reachable if a route is mounted outside the authenticated scope by mistake.
  if (!principal) throw new StratumError("UNAUTHORIZED", "No API key: send it in the X-API-Key header.");
  return principal;
}

function presentedKey(request: FastifyRequest): string | null {
  const header = request.headers["x-api-key"];
  if (typeof header === "string" && header.length > 0) return header.trim();
  const authorization = request.headers.authorization;
  const match = typeof authorization === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1] ?? null;
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** Compares digests, so neither the content nor the length of the bootstrap key leaks through timing. */
function sameSecret(a: string, b: Buffer): boolean {
  return timingSafeEqual(digest(a), b);
}

export interface Authenticator {
  authenticate(request: FastifyRequest): Promise<Principal>;
}

type RoleLookup = Pick<StratumServices, "resolvePrincipalScopes">;

/**
 * The scopes the holder's roles give at `tenantId`, none when it is unknown. Resolved at sign-in
 * for a key limited to a subtree (its whole reach), and per tenant for the rest (guard.tenant).
 */
export async function roleScopes(stratum: RoleLookup, holder: PrincipalRef | null, tenantId: string | null): Promise<string[]> {
  if (!holder || tenantId === null) return [];
  try {
    return (await stratum.resolvePrincipalScopes(tenantId, holder)).scopes;
  } catch (error) {
    if (isStratumError(error, "TENANT_NOT_FOUND") || isStratumError(error, "VALIDATION_FAILED") || isStratumError(error, "INVALID_TENANT_ID")) return [];
    throw error;
  }
}

export function createAuthenticator(
  stratum: Pick<StratumServices, "verifyApiKey"> & RoleLookup,
  bootstrapKey: string | undefined,
  jwt?: ControlPlaneJwtOptions,
): Authenticator {
  const bootstrapDigest = bootstrapKey ? digest(bootstrapKey) : null;
  const verifyJwt = jwt ? createJwtAuthenticator(jwt) : null;

  /** A signed-in user: the token's scopes plus, as principal `user:<sub>`, its roles at the token's tenant. */
  async function jwtPrincipal(token: string): Promise<Principal> {
    const identity = await verifyJwt!(token);
    const roleHolder: PrincipalRef = { type: "user", id: identity.subject };
    const fromRoles = await roleScopes(stratum, roleHolder, identity.tenantId);
    const scopes = [...new Set([...identity.scopes, ...fromRoles])];
    return { id: `user:${identity.subject}`, kind: "jwt", scopes, tenantId: identity.tenantId, rateLimit: null, roleHolder };
  }

  return {
    async authenticate(request) {
      const key = presentedKey(request);
      if (!key) throw new StratumError("UNAUTHORIZED", "No API key: send it in the X-API-Key header (or Authorization: Bearer <key or token>).");
      let principal: Principal | null = null;
      if (verifyJwt && looksLikeJwt(key)) {
        principal = await jwtPrincipal(key);
      } else if (bootstrapDigest && sameSecret(key, bootstrapDigest)) {
        principal = { id: "bootstrap", kind: "bootstrap", scopes: ["*"], tenantId: null, rateLimit: null, roleHolder: null };
      } else {
        const found: ApiKey | null = await stratum.verifyApiKey(key);
        if (found) {
          const roleHolder: PrincipalRef = { type: "api_key", id: found.id };
          const fromRoles = await roleScopes(stratum, roleHolder, found.tenant_id);
          const scopes = [...new Set([...found.scopes, ...fromRoles])];
          principal = { id: found.id, kind: "api_key", scopes, tenantId: found.tenant_id, rateLimit: found.rate_limit ?? null, roleHolder };
        }
      }
      if (!principal) throw new StratumError("UNAUTHORIZED", "The API key is not valid (unknown, revoked or expired).");
      principals.set(request, principal);
      return principal;
    },
  };
}

/** Scope and subtree checks the routes call before touching a service. */
export interface Guard {
  /** Throws FORBIDDEN unless the key holds `scope`. */
  scope(request: FastifyRequest, scope: ApiKeyScope): Principal;
  /** `scope`, and the tenant must be the key's tenant or one of its descendants. */
  tenant(request: FastifyRequest, scope: ApiKeyScope, tenantId: string): Promise<Principal>;
  /** True when `tenantId` lies in the key's subtree (always, for an unrestricted key). */
  reaches(principal: Principal, tenantId: string): Promise<boolean>;
  /** Throws FORBIDDEN unless the key is unrestricted (creating roots, moving to the top). */
  unrestricted(request: FastifyRequest, scope: ApiKeyScope, what: string): Principal;
}

export function createGuard(stratum: Pick<StratumServices, "getTenant"> & RoleLookup): Guard {
  async function reaches(principal: Principal, tenantId: string): Promise<boolean> {
    if (principal.tenantId === null || principal.tenantId === tenantId) return true;
    try {
      // `path` holds the ltree labels (tenant ids) root to self: exact label membership, not a prefix test.
      const tenant = await stratum.getTenant(tenantId);
      return tenant.path.includes(principal.tenantId);
    } catch (error) {
      if (isStratumError(error, "TENANT_NOT_FOUND") || isStratumError(error, "VALIDATION_FAILED")) return false;
      throw error;
    }
  }

  function scope(request: FastifyRequest, needed: ApiKeyScope): Principal {
    const principal = principalOf(request);
    if (!hasScope(principal.scopes, needed)) {
      throw new StratumError("FORBIDDEN", `This API key lacks the scope ${needed}.`, { required_scope: needed });
    }
    return principal;
  }

  return {
    scope,
    reaches,
    async tenant(request, needed, tenantId) {
      const principal = principalOf(request);
      if (hasScope(principal.scopes, needed)) {
        if (!(await reaches(principal, tenantId))) throw outOfSubtree(tenantId);
        return principal;
      }
      // Not held outright: a role assigned at this tenant or above may give it here. The subtree
      // check comes first, so an outside tenant answers as it does for a key with the scope.
      if (principal.roleHolder && (await reaches(principal, tenantId))) {
        const fromRoles = await roleScopes(stratum, principal.roleHolder, tenantId);
        if (hasScope(fromRoles, needed)) return { ...principal, scopes: [...new Set([...principal.scopes, ...fromRoles])] };
      }
      return scope(request, needed);
    },
    unrestricted(request, needed, what) {
      const principal = scope(request, needed);
      if (principal.tenantId !== null) {
        throw new StratumError("FORBIDDEN", `This API key is limited to one tenant's subtree; ${what} needs a key without a tenant.`);
      }
      return principal;
    },
  };
}

export function outOfSubtree(tenantId: string): StratumError {
  return new StratumError("FORBIDDEN", `This API key cannot act on tenant ${tenantId}: it does not exist or lies outside the key's subtree.`, { tenantId });
}
