/**
 * Bearer JWT sign-in on the control plane: RS256 tokens checked against a JWKS served by a local
 * HTTP server (no internet), mapped to scopes and a subtree; the subject's roles add scopes.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlPlane } from "../../src/server/index.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

type Key = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
let f: ServerFixture;
let app: FastifyInstance;
let jwks: Server;
let jwksUrl: string;
let signing: Key;
let stranger: Key;
let root: string;
let msp: string;
let leaf: string;
const ISSUER = "https://idp.example.test";
const AUDIENCE = "stratum-control-plane";
const api = "/api/v1";

async function token(claims: JWTPayload, key: Key = signing, kid = "k1", expires = "5m"): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(expires)
    .sign(key);
}
const bearer = (t: string, url: string, method: "GET" | "POST" = "GET", payload?: object) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${t}` }, ...(payload ? { payload } : {}) });

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  signing = pair.privateKey;
  stranger = (await generateKeyPair("RS256")).privateKey;
  const body = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" }] });
  jwks = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(body));
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;

  f = await serverFixture("srv_jwt");
  const create = async (name: string, parent_id?: string) =>
    expectStatus<{ id: string }>(await f.call("POST", `${api}/tenants`, { name, ...(parent_id ? { parent_id } : {}) }), 201).id;
  root = await create("Jwt Root");
  msp = await create("Jwt MSP", root);
  leaf = await create("Jwt Leaf", msp);
  app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP, jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] } });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await f?.close();
  await new Promise((resolve) => jwks?.close(resolve));
});

describe("bearer JWT sign-in", () => {
  it("maps the scope claim and the tenant claim to scopes and a subtree", async () => {
    const t = await token({ sub: "alice", scope: "tenants:read openid profile", tenant_id: msp });
    expectStatus(await bearer(t, `${api}/tenants/${leaf}`), 200);
    expectStatus(await bearer(t, `${api}/tenants/${msp}`), 200);
    const above = await bearer(t, `${api}/tenants/${root}`);
    expect([above.statusCode, above.json().error.code]).toEqual([403, "FORBIDDEN"]);
    // a scope the token does not carry
    expect((await bearer(t, `${api}/tenants/${leaf}/config`)).statusCode).toBe(403);
  });

  it("refuses a token signed by another key, expired, for another audience, or naming no tenant", async () => {
    const forged = await token({ sub: "mallory", scope: "*", tenant_id: msp }, stranger);
    const res = await bearer(forged, `${api}/tenants/${leaf}`);
    expect([res.statusCode, res.json().error.code]).toEqual([401, "UNAUTHORIZED"]);
    const expired = await token({ sub: "alice", scope: "tenants:read", tenant_id: msp }, signing, "k1", "-1m");
    expect((await bearer(expired, `${api}/tenants/${leaf}`)).statusCode).toBe(401);
    const otherAudience = await new SignJWT({ sub: "alice", scope: "tenants:read", tenant_id: msp })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience("another-app")
      .setExpirationTime("5m")
      .sign(signing);
    expect((await bearer(otherAudience, `${api}/tenants/${leaf}`)).statusCode).toBe(401);
    const noTenant = await bearer(await token({ sub: "alice", scope: "*" }), `${api}/tenants`);
    expect([noTenant.statusCode, noTenant.json().error.message]).toEqual([401, expect.stringContaining("names no tenant")]);
  });

  it("drops scopes the control plane does not know instead of passing them on", async () => {
    const t = await token({ sub: "bob", scp: ["tenants:read", "admin", "god:mode"], tenant_id: leaf });
    expectStatus(await bearer(t, `${api}/tenants/${leaf}`), 200);
    expect((await bearer(t, `${api}/tenants/${leaf}/audit`)).statusCode).toBe(403);
  });

  it("adds the subject's roles: refused before the role is assigned to user:<sub>, allowed after", async () => {
    const t = await token({ sub: "carol", scope: "tenants:read", tenant_id: msp });
    expect((await bearer(t, `${api}/tenants/${leaf}/audit`)).statusCode).toBe(403);
    expectStatus(await f.call("POST", `${api}/tenants/${root}/roles`, { name: "jwt_auditor", scopes: ["audit:read"] }), 201);
    expectStatus(await f.call("POST", `${api}/tenants/${msp}/role-assignments`, { principal_type: "user", principal_id: "carol", role: "jwt_auditor" }), 201);
    expectStatus(await bearer(t, `${api}/tenants/${leaf}/audit`), 200);
  });

  it("audits a write made with a token as the user, and API keys keep working beside tokens", async () => {
    const t = await token({ sub: "dave", scope: "config:write config:read", tenant_id: msp });
    expectStatus(
      await app.inject({ method: "PUT", url: `${api}/tenants/${leaf}/config/theme`, headers: { authorization: `Bearer ${t}` }, payload: { value: "dark" } }),
      200,
    );
    const rows = await f.ownerQuery<{ actor: string }>(
      `SELECT actor FROM stratum_audit WHERE tenant_id = $1 AND action LIKE 'config.%' ORDER BY id DESC LIMIT 1`,
      [leaf],
    );
    expect(rows[0]?.actor).toBe("user:dave");
    expectStatus(await app.inject({ method: "GET", url: `${api}/tenants/${leaf}`, headers: { authorization: `Bearer ${BOOTSTRAP}` } }), 200);
  });

  it("with allowUnrestricted, an operator's token without a tenant reaches the whole tree", async () => {
    const operator = createControlPlane({ prisma: f.prisma, jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE, allowUnrestricted: true } });
    try {
      const t = await token({ sub: "ops", scope: "tenants:read" });
      const res = await operator.inject({ method: "GET", url: `${api}/tenants/${root}`, headers: { authorization: `Bearer ${t}` } });
      expectStatus(res, 200);
    } finally {
      await operator.close();
    }
  });
});
