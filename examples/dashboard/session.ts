/**
 * Operator sign-in for the dashboard, kept inside the example: the browser holds only a short
 * signed session (an HS256 JWT in an HttpOnly, SameSite=Strict cookie), never an API key. The
 * server checks the session and calls the control plane with a key only it knows.
 *
 * "View as tenant" is part of the session (`as`): while it is set, the proxy uses a key limited to
 * that tenant's subtree, so the control plane itself enforces what the impersonated view can see.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";

export const SESSION_COOKIE = "stratum_dashboard_session";
/** The session token's issuer; the control plane accepts only tokens from it (server.ts). */
export const SESSION_ISSUER = "stratum-dashboard";
/** A working day; sign in again after. */
const TTL_SECONDS = 8 * 60 * 60;

export interface Operator {
  email: string;
  password: string;
  name: string;
}

export interface Session {
  email: string;
  name: string;
  /** Tenant being viewed as, or null. */
  as: string | null;
}

/** Equal-time comparison of secrets of any length (hashes first, so lengths do not leak). */
function same(a: string, b: string): boolean {
  const h = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

export function checkOperator(operators: readonly Operator[], email: string, password: string): Operator | null {
  let found: Operator | null = null;
  // Every operator is compared, so timing does not tell which emails exist.
  for (const op of operators) if (same(op.email, email.trim().toLowerCase()) && same(op.password, password)) found = op;
  return found;
}

export async function issueSession(secret: Uint8Array, session: Session): Promise<string> {
  return new SignJWT({ name: session.name, as: session.as })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(session.email)
    .setIssuer(SESSION_ISSUER)
    .setIssuedAt()
    .setExpirationTime(`${TTL_SECONDS}s`)
    .sign(secret);
}

export async function readSession(secret: Uint8Array, cookieHeader: string | undefined): Promise<Session | null> {
  const token = cookieValue(cookieHeader, SESSION_COOKIE);
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, secret, { issuer: SESSION_ISSUER, algorithms: ["HS256"] });
    if (typeof payload.sub !== "string") return null;
    return {
      email: payload.sub,
      name: typeof payload["name"] === "string" ? payload["name"] : payload.sub,
      as: typeof payload["as"] === "string" ? payload["as"] : null,
    };
  } catch {
    // Expired, forged or from another server: simply not signed in.
    return null;
  }
}

/** The signed session token itself, as the browser sent it (the proxy passes it on as a bearer token). */
export function sessionToken(cookieHeader: string | undefined): string | null {
  return cookieValue(cookieHeader, SESSION_COOKIE);
}

export function sessionCookie(token: string | null): string {
  const attributes = "Path=/; HttpOnly; SameSite=Strict";
  return token ? `${SESSION_COOKIE}=${token}; ${attributes}; Max-Age=${TTL_SECONDS}` : `${SESSION_COOKIE}=; ${attributes}; Max-Age=0`;
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return null;
}
