/** `s.middleware()` in a real Express 5 app on an ephemeral port, against the real control plane and database. */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express, { type Express } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExpressTenantOptions, StratumSdk } from "../../src/sdk/index.js";
import { sdkFixture, type SdkFixture } from "./support.js";
import { buildWorld, getJson, JWT_SECRET, signToken, type TenantWorld } from "./tenant-world.js";

let f: SdkFixture;
let s: StratumSdk;
let w: TenantWorld;
const servers: Server[] = [];

/** An app with the seed's /dashboard and routes that read and write through `prisma.$tenant()` with no argument. */
function app(sdk: StratumSdk, options: ExpressTenantOptions): Express {
  const a = express();
  a.use(express.json());
  a.use(sdk.middleware(options));
  a.get("/dashboard", (req, res) => {
    const ctx = req.tenant;
    res.json({
      tenant: ctx?.tenant_id ?? null,
      config: ctx?.resolved_config ?? null,
      permissions: ctx?.resolved_permissions ?? null,
      isolation: ctx?.isolation_strategy ?? null,
      source: ctx?.source ?? null,
      impersonation: ctx?.impersonation ?? null,
    });
  });
  a.get("/users", async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 5)); // the context must survive a hop through the timer queue
    const users = await f.prisma.$tenant().user.findMany({ orderBy: { email: "asc" } });
    res.json({ tenant: req.tenant?.tenant_id, emails: users.map((u) => u.email), tenants: [...new Set(users.map((u) => u.tenant_id))] });
  });
  a.post("/users", async (req, res) => {
    const body = req.body as { email: string };
    const user = await f.prisma.$tenant().user.create({ data: { tenant_id: req.tenant!.tenant_id, email: body.email } });
    res.status(201).json(user);
  });
  return a;
}

async function listen(a: Express): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const srv = a.listen(0, "127.0.0.1", () => resolve(srv));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let base: string;
let optionalBase: string;

beforeAll(async () => {
  f = await sdkFixture("sdk_express");
  s = f.sdk();
  w = await buildWorld(f, s, "Ex");
  base = await listen(app(s, { jwt: { secret: JWT_SECRET }, impersonation: {} }));
  optionalBase = await listen(
    app(s, {
      header: false,
      optional: true,
      include: { permissions: false },
      resolveTenant: (req) => new URL(req.url ?? "/", "http://local").searchParams.get("tenant"),
      impersonation: { allow: ({ caller }) => caller.id === w.msp.id },
    }),
  );
});
afterAll(async () => {
  await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  await f?.close();
});

const tenantHeader = (id: string) => ({ headers: { "x-tenant-id": id } });
const bearer = (token: string, extra: Record<string, string> = {}) => ({ headers: { authorization: `Bearer ${token}`, ...extra } });

describe("Express middleware: resolution", () => {
  it("resolves X-Tenant-ID into the seed's req.tenant shape", async () => {
    const { status, body } = await getJson(`${base}/dashboard`, tenantHeader(w.alpha.id));
    expect(status).toBe(200);
    expect(body).toEqual({
      tenant: w.alpha.id,
      config: {
        max_users: { value: 1000, inherited: true, locked: false, source_tenant_id: w.root.id },
        theme: { value: "dark", inherited: true, locked: true, source_tenant_id: w.msp.id },
      },
      permissions: { manage_users: { key: "manage_users", value: true, mode: "INHERITED", source_tenant_id: w.root.id, locked: false, delegated: false } },
      isolation: "SHARED_RLS",
      source: "header",
      impersonation: null,
    });
  });

  it("prisma.$tenant() with no argument inside the handler sees only the request's tenant", async () => {
    const alpha = await getJson(`${base}/users`, tenantHeader(w.alpha.id));
    expect(alpha.body).toEqual({ tenant: w.alpha.id, emails: ["a1@alpha.test", "a2@alpha.test"], tenants: [w.alpha.id] });
    const beta = await getJson(`${base}/users`, tenantHeader(w.beta.id));
    expect(beta.body).toEqual({ tenant: w.beta.id, emails: ["b1@beta.test"], tenants: [w.beta.id] });
    // Parallel requests for different tenants do not bleed into each other.
    const answers = await Promise.all([w.alpha, w.beta, w.other, w.alpha, w.beta, w.other].map((t) => getJson(`${base}/users`, tenantHeader(t.id))));
    for (const [i, t] of [w.alpha, w.beta, w.other, w.alpha, w.beta, w.other].entries()) expect(answers[i]!.body.tenants).toEqual([t.id]);
  });

  it("a POST with a parsed JSON body writes inside the tenant's context", async () => {
    const res = await fetch(`${base}/users`, {
      method: "POST",
      headers: { "x-tenant-id": w.beta.id, "content-type": "application/json" },
      body: JSON.stringify({ email: "b2@beta.test" }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { tenant_id: string }).tenant_id).toBe(w.beta.id);
    expect((await getJson(`${base}/users`, tenantHeader(w.beta.id))).body.emails).toEqual(["b1@beta.test", "b2@beta.test"]);
  });

  it("reads the tenant from a verified JWT claim", async () => {
    const { status, body } = await getJson(`${base}/users`, bearer(await signToken({ tenant_id: w.other.id })));
    expect(status).toBe(200);
    expect(body.emails).toEqual(["o1@other.test"]);
    expect((await getJson(`${base}/dashboard`, bearer(await signToken({ tenant_id: w.other.id })))).body.source).toBe("jwt");
    // Header and token agreeing is fine.
    expect((await getJson(`${base}/dashboard`, bearer(await signToken({ tenant_id: w.alpha.id }), { "x-tenant-id": w.alpha.id }))).status).toBe(200);
  });

  it("never trusts an unverified token: bad signature, expired, or alg none are 401", async () => {
    const forged = await signToken({ tenant_id: w.alpha.id }, { secret: "another-secret-of-at-least-32-bytes!!" });
    const expired = await signToken({ tenant_id: w.alpha.id }, { expires: Math.floor(Date.now() / 1000) - 3600 });
    const [header, payload] = (await signToken({ tenant_id: w.alpha.id })).split(".");
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${payload}.`;
    for (const token of [forged, expired, none, `${header}.${payload}.`, "garbage"]) {
      const { status, body } = await getJson(`${base}/users`, bearer(token));
      expect(status).toBe(401);
      expect(body.error?.code).toBe("UNAUTHORIZED");
    }
  });

  it("a header naming another tenant than the token is refused (403)", async () => {
    const { status, body } = await getJson(`${base}/users`, bearer(await signToken({ tenant_id: w.alpha.id }), { "x-tenant-id": w.beta.id }));
    expect(status).toBe(403);
    expect(body.error?.code).toBe("FORBIDDEN");
  });

  it("missing tenant is 400, malformed 400, unknown 404, suspended 403; each with the control plane's error shape", async () => {
    const cases: Array<[RequestInit, number, string]> = [
      [{}, 400, "NO_TENANT_CONTEXT"],
      [bearer(await signToken({ sub: "no-tenant-claim" })), 400, "NO_TENANT_CONTEXT"],
      [tenantHeader("not-a-uuid"), 400, "VALIDATION_FAILED"],
      [tenantHeader("00000000-0000-4000-8000-00000000beef"), 404, "TENANT_NOT_FOUND"],
      [tenantHeader(w.paused.id), 403, "TENANT_SUSPENDED"],
    ];
    for (const [init, status, code] of cases) {
      const res = await getJson(`${base}/users`, init);
      expect([res.status, res.body.error?.code]).toEqual([status, code]);
      expect(typeof res.body.error?.message).toBe("string");
    }
  });

  it("optional: no tenant passes through with req.tenant null; resolveTenant is the last resort", async () => {
    expect((await getJson(`${optionalBase}/dashboard`)).body).toMatchObject({ tenant: null });
    const custom = await getJson(`${optionalBase}/dashboard?tenant=${w.beta.id}`);
    expect(custom.body).toMatchObject({ tenant: w.beta.id, source: "custom", permissions: null });
    expect((custom.body.config as Record<string, unknown>).theme).toBeDefined();
    // header: false ignores X-Tenant-ID entirely
    expect((await getJson(`${optionalBase}/dashboard`, tenantHeader(w.alpha.id))).body).toMatchObject({ tenant: null });
    expect((await getJson(`${optionalBase}/users?tenant=${w.alpha.id}`)).body.emails).toEqual(["a1@alpha.test", "a2@alpha.test"]);
  });

  it("the control plane unreachable is 503 NETWORK_ERROR, not the caller's fault", async () => {
    const down = f.sdk({ controlPlaneUrl: "http://127.0.0.1:1", retries: 0 });
    const url = await listen(app(down, {}));
    const { status, body } = await getJson(`${url}/users`, tenantHeader(w.alpha.id));
    expect([status, body.error?.code]).toEqual([503, "NETWORK_ERROR"]);
  });
});

describe("Express middleware: impersonation", () => {
  const impersonate = (target: string) => ({ "x-impersonate-tenant": target });

  it("a token with the impersonation claim acts as a descendant, and req.tenant says who really called", async () => {
    const token = await signToken({ tenant_id: w.msp.id, sub: "operator-7", stratum_impersonate: true });
    const users = await getJson(`${base}/users`, bearer(token, impersonate(w.alpha.id)));
    expect(users.status).toBe(200);
    expect(users.body).toMatchObject({ tenant: w.alpha.id, emails: ["a1@alpha.test", "a2@alpha.test"], tenants: [w.alpha.id] });
    const dash = await getJson(`${base}/dashboard`, bearer(token, impersonate(w.beta.id)));
    expect(dash.body).toMatchObject({
      tenant: w.beta.id,
      source: "jwt",
      impersonation: { actor_tenant_id: w.msp.id, actor_source: "jwt", actor_subject: "operator-7" },
    });
  });

  it("refuses (403) without the claim, outside the caller's subtree, upward, sideways, itself, or unknown", async () => {
    const permitted = await signToken({ tenant_id: w.msp.id, stratum_impersonate: true });
    const unpermitted = await signToken({ tenant_id: w.msp.id });
    const cases: Array<[RequestInit, string]> = [
      [bearer(unpermitted, impersonate(w.alpha.id)), "no claim"],
      [bearer(await signToken({ tenant_id: w.msp.id, stratum_impersonate: "yes" }), impersonate(w.alpha.id)), "claim not true"],
      [{ headers: { "x-tenant-id": w.msp.id, ...impersonate(w.alpha.id) } }, "header-only caller"],
      [bearer(permitted, impersonate(w.other.id)), "another root"],
      [bearer(permitted, impersonate(w.root.id)), "an ancestor"],
      [bearer(await signToken({ tenant_id: w.alpha.id, stratum_impersonate: true }), impersonate(w.beta.id)), "a sibling"],
      [bearer(permitted, impersonate(w.msp.id)), "itself"],
      [bearer(permitted, impersonate("00000000-0000-4000-8000-00000000dead")), "unknown"],
    ];
    for (const [init, why] of cases) {
      const { status, body } = await getJson(`${base}/users`, init);
      expect([status, body.error?.code], why).toEqual([403, "FORBIDDEN"]);
    }
  });

  it("a server without impersonation refuses the header rather than ignoring it", async () => {
    const url = await listen(app(s, {}));
    const { status, body } = await getJson(`${url}/users`, { headers: { "x-tenant-id": w.msp.id, ...impersonate(w.alpha.id) } });
    expect([status, body.error?.code]).toEqual([403, "FORBIDDEN"]);
  });

  it("an allow function decides for header-identified callers, still only below them", async () => {
    const ok = await getJson(`${optionalBase}/users?tenant=${w.msp.id}`, { headers: impersonate(w.alpha.id) });
    expect(ok.body).toMatchObject({ tenant: w.alpha.id, tenants: [w.alpha.id] });
    const notAllowed = await getJson(`${optionalBase}/users?tenant=${w.root.id}`, { headers: impersonate(w.alpha.id) });
    expect(notAllowed.status).toBe(403);
    const notBelow = await getJson(`${optionalBase}/users?tenant=${w.msp.id}`, { headers: impersonate(w.other.id) });
    expect(notBelow.status).toBe(403);
  });
});
