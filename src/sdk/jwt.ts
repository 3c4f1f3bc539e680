/**
 * Bearer tokens for tenant resolution. A token is trusted only after its signature and claims
 * checked out (jose), or after the caller's own verify function accepted it; a token that fails
 * is refused, never read.
 */
import type { JWTPayload, JWTVerifyOptions, KeyInput } from "jose";
import { StratumError } from "../core/errors.js";
import { loadOptionalPeer } from "../core/optional-peer.js";

/** jose is an optional peer, imported when the first token is checked (PEER_DEPENDENCY_MISSING without it). */
const jose = () => loadOptionalPeer("jose", "JWT tenant resolution (jwt options)");

export type JwtClaims = JWTPayload;

export interface JwtOptions {
  /** Shared secret for HS256/384/512. */
  secret?: string | Uint8Array;
  /** Public key (or JWK) for asymmetric algorithms; give `algorithms` too. */
  key?: KeyInput;
  /** A JWKS endpoint (keys fetched and cached by jose). */
  jwksUrl?: string | URL;
  /** Your own verification; must throw (or reject) for a token it does not accept. */
  verify?: (token: string) => Promise<JwtClaims> | JwtClaims;
  /** Claim holding the tenant id, default "tenant_id". */
  claim?: string;
  issuer?: string | string[];
  audience?: string | string[];
  /** Accepted algorithms; default HS256/384/512 with `secret`, jose's defaults otherwise. */
  algorithms?: string[];
  /** Seconds (or a jose duration string) of clock skew accepted on exp/nbf. */
  clockTolerance?: string | number;
}

export type TokenVerifier = (token: string) => Promise<JwtClaims>;

export function createTokenVerifier(options: JwtOptions): TokenVerifier {
  const { verify } = options;
  if (verify) return async (token) => verify(token);
  const claimChecks: JWTVerifyOptions = {
    ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
    ...(options.audience !== undefined ? { audience: options.audience } : {}),
    ...(options.clockTolerance !== undefined ? { clockTolerance: options.clockTolerance } : {}),
  };
  if (options.secret !== undefined) {
    const secret = typeof options.secret === "string" ? new TextEncoder().encode(options.secret) : options.secret;
    if (secret.byteLength < 32)
      throw new StratumError("VALIDATION_FAILED", "jwt.secret must be at least 32 bytes: shorter HMAC secrets can be brute-forced.", { field: "jwt.secret" });
    // Pinned to HMAC: a token claiming another algorithm must not be checked against the secret as if it were a public key.
    const algorithms = options.algorithms ?? ["HS256", "HS384", "HS512"];
    return async (token) => (await (await jose()).jwtVerify(token, secret, { ...claimChecks, algorithms })).payload;
  }
  const withAlgorithms = options.algorithms ? { ...claimChecks, algorithms: options.algorithms } : claimChecks;
  if (options.key !== undefined) {
    const key = options.key;
    return async (token) => (await (await jose()).jwtVerify(token, key, withAlgorithms)).payload;
  }
  if (options.jwksUrl !== undefined) {
    const url = new URL(options.jwksUrl);
    // One key set per verifier (jose caches the fetched keys in it), made with the first token.
    let jwks: Promise<ReturnType<Awaited<ReturnType<typeof jose>>["createRemoteJWKSet"]>> | undefined;
    return async (token) => {
      jwks ??= jose().then((m) => m.createRemoteJWKSet(url));
      const keys = await jwks.catch((error: unknown) => {
        jwks = undefined;
        throw error;
      });
      return (await (await jose()).jwtVerify(token, keys, withAlgorithms)).payload;
    };
  }
  throw new StratumError("VALIDATION_FAILED", "jwt: give one of secret, key, jwksUrl or verify; an unverified token is never trusted.", { field: "jwt" });
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(authorization: string | null | undefined): string | null {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1] ?? null;
}
