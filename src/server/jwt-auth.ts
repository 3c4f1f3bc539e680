/**
 * Signing in to the control plane with a bearer JWT (an OIDC provider's access or ID token), so a
 * browser dashboard needs no API key. The token is verified with jose — a JWKS URL, a public key
 * or JWK, or a shared secret — and its claims become a principal: scopes (the OAuth `scope`
 * string or `scp` list, by default), a tenant whose subtree bounds every request, and the
 * subject, whose roles (as principal `user:<sub>`) add scopes like a key's roles do.
 *
 * Only the control plane's own scopes are taken from a token: an unknown scope in a claim is
 * dropped, never passed on. A token that names no tenant is refused unless `allowUnrestricted`
 * says such tokens (an operator's, at the top of the tree) may act everywhere.
 */
import { API_KEY_SCOPES } from "../apikeys/index.js";
import { isStratumError, StratumError } from "../core/errors.js";
import { createTokenVerifier, type JwtClaims, type JwtOptions } from "../sdk/jwt.js";

export interface ControlPlaneJwtOptions extends Omit<JwtOptions, "claim"> {
  /** Claim holding the scopes: a space-separated string or a list; default `scope`, then `scp`. */
  scopesClaim?: string;
  /** Claim holding the tenant id that bounds the session; default `tenant_id`. */
  tenantClaim?: string;
  /** Accept tokens that name no tenant as unrestricted (operators); default false: refused. */
  allowUnrestricted?: boolean;
  /** Your own mapping from verified claims, instead of the claim names above. */
  map?: (claims: JwtClaims) => { scopes: string[]; tenantId: string | null };
}

export interface JwtIdentity {
  subject: string;
  scopes: string[];
  tenantId: string | null;
}

const KNOWN_SCOPES = new Set<string>(API_KEY_SCOPES);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Three base64url segments: a compact JWS. API keys (`sk_…`) never contain a dot. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

function claimScopes(claims: JwtClaims, name: string | undefined): string[] {
  const raw = name !== undefined ? claims[name] : (claims.scope ?? claims.scp);
  if (typeof raw === "string") return raw.split(/\s+/).filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return [];
}

function refused(reason: string): StratumError {
  return new StratumError("UNAUTHORIZED", `The bearer token is not accepted: ${reason}`);
}

export function createJwtAuthenticator(options: ControlPlaneJwtOptions): (token: string) => Promise<JwtIdentity> {
  const verify = createTokenVerifier(options);
  const tenantClaim = options.tenantClaim ?? "tenant_id";
  return async (token) => {
    let claims: JwtClaims;
    try {
      claims = await verify(token);
    } catch (error) {
      if (isStratumError(error, "PEER_DEPENDENCY_MISSING")) throw error;
      const code = (error as { code?: unknown }).code;
      throw new StratumError(
        "UNAUTHORIZED",
        "The bearer token is not valid (signature, issuer, audience or expiry): sign in again.",
        typeof code === "string" ? { reason: code } : {},
      );
    }
    if (typeof claims.sub !== "string" || claims.sub.length === 0) throw refused("it has no subject (sub).");
    const mapped: { scopes: string[]; tenantId: unknown } = options.map
      ? options.map(claims)
      : { scopes: claimScopes(claims, options.scopesClaim), tenantId: claims[tenantClaim] ?? null };
    const tenantId = mapped.tenantId;
    if (tenantId !== null && (typeof tenantId !== "string" || !UUID.test(tenantId))) throw refused(`its ${tenantClaim} claim is not a tenant id.`);
    if (tenantId === null && !options.allowUnrestricted) {
      throw refused(`it names no tenant (claim ${tenantClaim}); tokens without one are refused unless the server sets jwt.allowUnrestricted.`);
    }
    const scopes = [...new Set(mapped.scopes.filter((s) => KNOWN_SCOPES.has(s)))];
    return { subject: claims.sub, scopes, tenantId: tenantId === null ? null : tenantId.toLowerCase() };
  };
}
