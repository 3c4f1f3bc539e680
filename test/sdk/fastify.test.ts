/** `s.fastifyPlugin()` in a real Fastify 5 app on an ephemeral port, against the real control plane and database. */
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyTenantOptions, StratumSdk } from "../../src/sdk/index.js";
import { sdkFixture, type SdkFixture } from "./support.js";
import { buildWorld, getJson, JWT_SECRET, signToken, type TenantWorld } from "./tenant-world.js";

let f: SdkFixture;
let s: StratumSdk;
let w: TenantWorld;
const apps: FastifyInstance[] = [];

async function start(sdk: StratumSdk, options: FastifyTenantOptions): Promise<string> {
  const app = Fastify();
  await app.register(sdk.fastifyPlugin(options));
  app.get("/dashboard", async (request) => ({
    tenant: request.tenant?.tenant_id ?? null,
    config: request.tenant?.resolved_config ?? null,
    isolation: request.tenant?.isolation_strategy ?? null,
    impersonation: request.tenant?.impersonation ?? null,
  }));
  app.get("/users", async (request) => {
    const users = await f.prisma.$tenant().user.findMany({ orderBy: { email: "asc" } });
    return { tenant: request.tenant?.tenant_id, emails: users.map((u) => u.email), tenants: [...new Set(users.map((u) => u.tenant_id))] };
  });
  app.post("/users", async (request, reply) => {
    const { email } = request.body as { email: string };
    const user = await f.prisma.$tenant().user.create({ data: { tenant_id: request.tenant!.tenant_id, email } });
    return reply.code(201).send(user);
  });
  // Routes in a child plugin get the tenant too: the plugin is not encapsulated.
  await app.register(async (child) => {
    child.get("/nested/users", async () => ({ count: await f.prisma.$tenant().user.count() }));
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  apps.push(app);
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

let base: string;

beforeAll(async () => {
  f = await sdkFixture("sdk_fastify");
  s = f.sdk();
  w = await buildWorld(f, s, "Fy");
  base = await start(s, { jwt: { secret: JWT_SECRET }, impersonation: {} });
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await f?.close();
});

const tenantHeader = (id: string) => ({ headers: { "x-tenant-id": id } });

describe("Fastify plugin", () => {
  it("decorates request.tenant with the seed's shape", async () => {
    const { status, body } = await getJson(`${base}/dashboard`, tenantHeader(w.alpha.id));
    expect(status).toBe(200);
    expect(body).toMatchObject({ tenant: w.alpha.id, isolation: "SHARED_RLS", impersonation: null });
    expect((body.config as Record<string, unknown>).max_users).toEqual({ value: 1000, inherited: true, locked: false, source_tenant_id: w.root.id });
  });

  it("runs handlers (and child plugins' handlers) inside the tenant's context: prisma.$tenant() with no argument", async () => {
    expect((await getJson(`${base}/users`, tenantHeader(w.alpha.id))).body).toEqual({
      tenant: w.alpha.id,
      emails: ["a1@alpha.test", "a2@alpha.test"],
      tenants: [w.alpha.id],
    });
    expect((await getJson(`${base}/nested/users`, tenantHeader(w.other.id))).body).toEqual({ count: 1 });
    const order = [w.alpha, w.beta, w.other, w.beta, w.alpha, w.other];
    const answers = await Promise.all(order.map((t) => getJson(`${base}/users`, tenantHeader(t.id))));
    for (const [i, t] of order.entries()) expect(answers[i]!.body.tenants).toEqual([t.id]);
  });

  it("keeps the context across body parsing: a POST writes to the request's tenant", async () => {
    const res = await fetch(`${base}/users`, {
      method: "POST",
      headers: { "x-tenant-id": w.alpha.id, "content-type": "application/json" },
      body: JSON.stringify({ email: "a3@alpha.test" }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { tenant_id: string }).tenant_id).toBe(w.alpha.id);
    expect((await getJson(`${base}/users`, tenantHeader(w.alpha.id))).body.emails).toEqual(["a1@alpha.test", "a2@alpha.test", "a3@alpha.test"]);
  });

  it("resolves from a verified JWT and refuses bad ones", async () => {
    const ok = await getJson(`${base}/users`, { headers: { authorization: `Bearer ${await signToken({ tenant_id: w.beta.id })}` } });
    expect(ok.body.tenants).toEqual([w.beta.id]);
    const forged = await signToken({ tenant_id: w.beta.id }, { secret: "another-secret-of-at-least-32-bytes!!" });
    const bad = await getJson(`${base}/users`, { headers: { authorization: `Bearer ${forged}` } });
    expect([bad.status, bad.body.error?.code]).toEqual([401, "UNAUTHORIZED"]);
  });

  it("answers 400 for a missing tenant, 404 for an unknown one, before reading any body", async () => {
    const missing = await getJson(`${base}/users`);
    expect([missing.status, missing.body.error?.code]).toEqual([400, "NO_TENANT_CONTEXT"]);
    const unknown = await fetch(`${base}/users`, {
      method: "POST",
      headers: { "x-tenant-id": "00000000-0000-4000-8000-00000000beef", "content-type": "application/json" },
      body: "{ not json",
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("TENANT_NOT_FOUND");
  });

  it("impersonation: allowed below the caller with the claim, refused otherwise", async () => {
    const token = await signToken({ tenant_id: w.msp.id, sub: "op", stratum_impersonate: true });
    const ok = await getJson(`${base}/dashboard`, { headers: { authorization: `Bearer ${token}`, "x-impersonate-tenant": w.beta.id } });
    expect(ok.body).toMatchObject({ tenant: w.beta.id, impersonation: { actor_tenant_id: w.msp.id, actor_source: "jwt", actor_subject: "op" } });
    const users = await getJson(`${base}/users`, { headers: { authorization: `Bearer ${token}`, "x-impersonate-tenant": w.beta.id } });
    expect(users.body.tenants).toEqual([w.beta.id]);
    const upward = await getJson(`${base}/users`, { headers: { authorization: `Bearer ${token}`, "x-impersonate-tenant": w.root.id } });
    expect([upward.status, upward.body.error?.code]).toEqual([403, "FORBIDDEN"]);
    const noClaim = await getJson(`${base}/users`, {
      headers: { authorization: `Bearer ${await signToken({ tenant_id: w.msp.id })}`, "x-impersonate-tenant": w.beta.id },
    });
    expect(noClaim.status).toBe(403);
  });

  it("optional: requests without a tenant reach the handler with request.tenant null", async () => {
    const url = await start(s, { optional: true });
    expect((await getJson(`${url}/dashboard`)).body).toMatchObject({ tenant: null });
    expect((await getJson(`${url}/dashboard`, tenantHeader(w.beta.id))).body).toMatchObject({ tenant: w.beta.id });
  });
});
