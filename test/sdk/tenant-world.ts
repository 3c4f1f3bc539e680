/**
 * The world the middleware tests share: a tenant tree with users in each tenant, created through
 * the SDK and the app's own Prisma client, and JWTs signed with a test secret.
 *
 *   root ─┬─ msp ─┬─ alpha   (users a1, a2)
 *         │       └─ beta    (user b1)
 *         └─ paused (suspended)
 *   other (a second root, user o1)
 */
import { SignJWT, type JWTPayload } from "jose";
import type { StratumSdk, TenantRecord } from "../../src/sdk/index.js";
import type { SdkFixture } from "./support.js";

export const JWT_SECRET = "a-test-secret-of-at-least-32-bytes!!";
const secretBytes = new TextEncoder().encode(JWT_SECRET);

export interface TenantWorld {
  root: TenantRecord;
  msp: TenantRecord;
  alpha: TenantRecord;
  beta: TenantRecord;
  paused: TenantRecord;
  other: TenantRecord;
}

export async function buildWorld(f: SdkFixture, s: StratumSdk, prefix: string): Promise<TenantWorld> {
  const root = await s.tenants.create({ name: `${prefix} Root` });
  const msp = await s.tenants.create({ name: `${prefix} MSP`, parent_id: root.id });
  const alpha = await s.tenants.create({ name: `${prefix} Alpha`, parent_id: msp.id });
  const beta = await s.tenants.create({ name: `${prefix} Beta`, parent_id: msp.id });
  const paused = await s.tenants.suspend((await s.tenants.create({ name: `${prefix} Paused`, parent_id: root.id })).id);
  const other = await s.tenants.create({ name: `${prefix} Other` });
  await s.config.set(root.id, "max_users", { value: 1000 });
  await s.config.set(msp.id, "theme", { value: "dark", locked: true });
  await s.permissions.create(root.id, { key: "manage_users", value: true, mode: "INHERITED" });
  for (const [tenant, emails] of [
    [alpha, ["a1@alpha.test", "a2@alpha.test"]],
    [beta, ["b1@beta.test"]],
    [other, ["o1@other.test"]],
  ] as const) {
    for (const email of emails) await f.prisma.$tenant(tenant.id).user.create({ data: { tenant_id: tenant.id, email } });
  }
  return { root, msp, alpha, beta, paused, other };
}

export async function signToken(claims: JWTPayload, options: { expires?: string | number; secret?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime(options.expires ?? "5m");
  return jwt.sign(options.secret ? new TextEncoder().encode(options.secret) : secretBytes);
}

/** A JSON answer: status and parsed body. */
export async function getJson(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
