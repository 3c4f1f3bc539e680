/**
 * stratum-prisma/next with standard Request / Headers, as Next.js hands them to route handlers
 * and server actions (Next itself is not installed: the helpers must not need it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextTenant } from "../../src/next/index.js";
import { isStratumError, type StratumSdk } from "../../src/sdk/index.js";
import { sdkFixture, type SdkFixture } from "./support.js";
import { buildWorld, JWT_SECRET, signToken, type TenantWorld } from "./tenant-world.js";

let f: SdkFixture;
let s: StratumSdk;
let w: TenantWorld;

beforeAll(async () => {
  f = await sdkFixture("sdk_next");
  s = f.sdk();
  w = await buildWorld(f, s, "Nx");
});
afterAll(async () => {
  await f?.close();
});

const request = (headers: Record<string, string> = {}, method = "GET") => new Request("http://app.local/api/users", { method, headers });

describe("withTenant (route handlers)", () => {
  it("runs the handler in the tenant's context with the tenant and Next's route context", async () => {
    const { withTenant } = nextTenant(s);
    const GET = withTenant<{ params: Promise<{ slug: string }> }>(async (req, { tenant, params }) => {
      const users = await f.prisma.$tenant().user.findMany({ orderBy: { email: "asc" } });
      return Response.json({
        tenant: tenant.tenant_id,
        slug: (await params).slug,
        url: req.url,
        emails: users.map((u) => u.email),
        theme: tenant.resolved_config?.theme?.value,
      });
    });
    const res = await GET(request({ "x-tenant-id": w.alpha.id }), { params: Promise.resolve({ slug: "users" }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      tenant: w.alpha.id,
      slug: "users",
      url: "http://app.local/api/users",
      emails: ["a1@alpha.test", "a2@alpha.test"],
      theme: "dark",
    });
    const beta = await GET(request({ "x-tenant-id": w.beta.id }), { params: Promise.resolve({ slug: "x" }) });
    expect(((await beta.json()) as { emails: string[] }).emails).toEqual(["b1@beta.test"]);
  });

  it("answers refusals as JSON with the middleware's statuses", async () => {
    const { withTenant } = nextTenant(s, { jwt: { secret: JWT_SECRET } });
    let called = 0;
    const GET = withTenant(async () => {
      called++;
      return new Response("ok");
    });
    const cases: Array<[Record<string, string>, number, string]> = [
      [{}, 400, "NO_TENANT_CONTEXT"],
      [{ "x-tenant-id": "nope" }, 400, "VALIDATION_FAILED"],
      [{ "x-tenant-id": "00000000-0000-4000-8000-00000000beef" }, 404, "TENANT_NOT_FOUND"],
      [{ authorization: "Bearer not.a.jwt" }, 401, "UNAUTHORIZED"],
      [{ "x-tenant-id": w.paused.id }, 403, "TENANT_SUSPENDED"],
    ];
    for (const [headers, status, code] of cases) {
      const res = await GET(request(headers), undefined);
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect(called).toBe(0);
    const viaJwt = await GET(request({ authorization: `Bearer ${await signToken({ tenant_id: w.other.id })}` }), undefined);
    expect([viaJwt.status, await viaJwt.text()]).toEqual([200, "ok"]);
  });

  it("with optional: true the handler gets tenant null and runs outside any tenant context", async () => {
    const { withTenant } = nextTenant(s, { optional: true });
    const GET = withTenant(async (_req, { tenant }) => {
      const scoped = tenant ? await f.prisma.$tenant().user.count() : null;
      return Response.json({ tenant: tenant?.tenant_id ?? null, scoped });
    });
    expect(await (await GET(request(), {})).json()).toEqual({ tenant: null, scoped: null });
    expect(await (await GET(request({ "x-tenant-id": w.other.id }), {})).json()).toEqual({ tenant: w.other.id, scoped: 1 });
  });

  it("impersonation works through the same options", async () => {
    const { withTenant } = nextTenant(s, { jwt: { secret: JWT_SECRET }, impersonation: {} });
    const GET = withTenant(async (_req, { tenant }) =>
      Response.json({ tenant: tenant.tenant_id, by: tenant.impersonation?.actor_tenant_id, count: await f.prisma.$tenant().user.count() }),
    );
    const token = await signToken({ tenant_id: w.msp.id, stratum_impersonate: true });
    const res = await GET(request({ authorization: `Bearer ${token}`, "x-impersonate-tenant": w.beta.id }), undefined);
    expect(await res.json()).toEqual({ tenant: w.beta.id, by: w.msp.id, count: 1 });
    const refused = await GET(request({ authorization: `Bearer ${token}`, "x-impersonate-tenant": w.other.id }), undefined);
    expect(refused.status).toBe(403);
  });
});

describe("server actions", () => {
  it("runAsTenant runs the action in the tenant's context from a Headers object", async () => {
    const { runAsTenant, getTenant } = nextTenant(s);
    const headers = new Headers({ "x-tenant-id": w.beta.id });
    const emails = await runAsTenant(headers, async (tenant) => {
      expect(tenant.tenant_id).toBe(w.beta.id);
      return (await f.prisma.$tenant().user.findMany()).map((u) => u.email);
    });
    expect(emails).toEqual(["b1@beta.test"]);
    expect((await getTenant(headers)).tenant.name).toBe("Nx Beta");
  });

  it("throws StratumError with the code and would-be HTTP status when no tenant resolves", async () => {
    const { runAsTenant } = nextTenant(s);
    const error = await runAsTenant(new Headers(), () => "never").then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStratumError(error, "NO_TENANT_CONTEXT")).toBe(true);
    expect((error as { details: Record<string, unknown> }).details.http_status).toBe(400);
    // A plain { get } works as a header source too.
    const unknown = await runAsTenant({ get: (name) => (name === "x-tenant-id" ? "00000000-0000-4000-8000-00000000beef" : null) }, () => "never").catch(
      (e: unknown) => e,
    );
    expect(isStratumError(unknown, "TENANT_NOT_FOUND")).toBe(true);
  });
});
