/**
 * The MSSP dashboard example over a real database and real HTTP: the seeded tree, the page and
 * its esbuild bundle, the MSP view's counts and who may read them, the control plane under /api/v1.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Overview } from "../../examples/dashboard/overview.js";
import { seedDashboard } from "../../examples/dashboard/seed.js";
import { createDashboard, DEMO_OPERATOR, type Dashboard } from "../../examples/dashboard/server.js";
import type { Tenant } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { stratumTestClient } from "../support/stratum-client.js";

const KEY = "sk_test_dashboard_example_bootstrap";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let dashboard: Dashboard;
let url: string;
let tenants: Record<string, Tenant>;
let cookie: string;

const id = (slug: string) => tenants[slug]!.id;
const get = (path: string, key: string | null = KEY) => fetch(`${url}${path}`, { headers: key ? { "x-api-key": key } : {} });
const withSession = (path: string, session: string | null = cookie, init: RequestInit = {}) =>
  fetch(`${url}${path}`, { ...init, headers: { ...(session ? { cookie: session } : {}), ...(init.body ? { "content-type": "application/json" } : {}) } });
async function signIn(password = DEMO_OPERATOR.password): Promise<Response> {
  return fetch(`${url}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: DEMO_OPERATOR.email, password }),
  });
}
async function overview(slug: string, session: string = cookie): Promise<Overview> {
  const res = await withSession(`/dashboard/api/overview/${id(slug)}`, session);
  expect(res.status).toBe(200);
  return (await res.json()) as Overview;
}
const row = (o: Overview, slug: string) => o.clients.find((c) => c.tenant_id === id(slug));

beforeAll(async () => {
  db = await createTestDatabase({ label: "ex_dashboard" });
  client = stratumTestClient(db);
  // The test client knows the "main" server and has owner access: SCHEMA and DATABASE clients both get seeded.
  dashboard = await createDashboard({ prisma: client.prisma, apiKey: KEY, seed: { schemaTenants: true, databaseServer: "main" } });
  tenants = dashboard.seed!.tenants;
  await dashboard.app.listen({ port: 0, host: "127.0.0.1" });
  url = `http://127.0.0.1:${(dashboard.app.server.address() as AddressInfo).port}`;
  cookie = (await signIn()).headers.get("set-cookie")!.split(";")[0]!;
});

afterAll(async () => {
  await dashboard?.app.close();
  // The DATABASE client's database lives outside the test database; remove it with its tenant.
  if (tenants?.["client_omega"]) await client.prisma.$stratum.deleteTenant(id("client_omega")).catch(() => undefined);
  await client?.close();
  await db?.drop();
});

describe("examples/dashboard", () => {
  it("seeds an MSSP → two MSPs → clients tree in mixed isolation strategies, once", async () => {
    expect(dashboard.seed?.created).toBe(true);
    const all = await client.prisma.$stratum.getDescendants(id("acmesec"));
    const shape = all.map((t) => [t.name, t.depth, t.isolation_strategy]);
    expect(shape).toEqual(
      expect.arrayContaining([
        ["NorthStar MSP", 1, "SHARED_RLS"],
        ["Client Alpha", 2, "SHARED_RLS"],
        ["Client Beta", 2, "SCHEMA"],
        ["Harbor Dental", 2, "SHARED_RLS"],
        ["Keystone Legal", 2, "SHARED_RLS"],
        ["SouthWind MSP", 1, "SHARED_RLS"],
        ["Client Gamma", 2, "SHARED_RLS"],
        ["Client Delta", 2, "SHARED_RLS"],
        ["Pinecrest Clinic", 2, "SHARED_RLS"],
        ["Client Omega", 2, "DATABASE"],
      ]),
    );
    expect(all).toHaveLength(10);
    expect(tenants["keystone_legal"]?.status).toBe("suspended");
    // Users and tickets landed in each client's own home.
    expect(await client.prisma.$tenant(id("client_beta")).ticket.count()).toBe(4);
    expect(await client.prisma.$tenant(id("client_omega")).user.count()).toBe(1);
    expect(await client.prisma.$tenant(id("client_delta")).user.count()).toBe(2);

    const again = await seedDashboard(client.prisma, { schemaTenants: true });
    expect(again.created).toBe(false);
    expect((await client.prisma.$stratum.getDescendants(id("acmesec"))).length).toBe(10);
  });

  it("serves an HTML page that loads /app.js and holds no key", async () => {
    const res = await get("/", null);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<div id="root"></div>');
    expect(html).toContain('<script type="module" src="/app.js"></script>');
    expect(html).not.toContain(KEY);
  });

  it("serves the React app as a JavaScript bundle that esbuild really built", async () => {
    const res = await get("/app.js", null);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript/);
    const js = await res.text();
    expect(js.length).toBeGreaterThan(50_000);
    for (const name of [
      "DashboardApp",
      "Console",
      "OverviewTab",
      "TenantTree",
      "ConfigEditor",
      "InheritanceView",
      "PermissionEditor",
      "ApiKeyManager",
      "AuditLog",
    ])
      expect(js).toContain(name);
    // Bundled for the browser: React's production build inlined, no imports left to resolve, no key.
    expect(js).not.toMatch(/^import\s/m);
    expect(js).toContain("/dashboard/api/overview/");
    expect(js).not.toContain(KEY);
    expect(() => new Function(js.replace(/\bexport\s*\{[^}]*\};?\s*$/, ""))).not.toThrow();
  });

  it("signs operators in with a signed HttpOnly session; wrong passwords and forged cookies are refused", async () => {
    expect((await signIn("wrong")).status).toBe(401);
    const ok = await signIn();
    expect(ok.status).toBe(200);
    expect(ok.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Strict/);
    expect(await (await withSession("/auth/session")).json()).toMatchObject({ email: DEMO_OPERATOR.email, view_as: null });
    expect((await withSession("/auth/session", null)).status).toBe(401);
    expect((await withSession("/auth/session", `${cookie.slice(0, -4)}AAAA`)).status).toBe(401);
  });

  it("proxies the control plane for a session, and limits it to a tenant's subtree while viewing as that tenant", async () => {
    expect((await withSession("/ui/api/v1/tenants?roots=true", null)).status).toBe(401);
    const roots = (await (await withSession("/ui/api/v1/tenants?roots=true")).json()) as { data: Array<{ slug: string }> };
    expect(roots.data.map((t) => t.slug)).toEqual(["acmesec"]);

    const viewAs = await withSession("/auth/view-as", cookie, { method: "POST", body: JSON.stringify({ tenant_id: id("northstar_msp") }) });
    expect(await viewAs.json()).toMatchObject({ view_as: { name: "NorthStar MSP" } });
    const as = viewAs.headers.get("set-cookie")!.split(";")[0]!;
    const top = (await (await withSession("/ui/api/v1/tenants?roots=true", as)).json()) as { data: Array<{ slug: string }> };
    expect(top.data.map((t) => t.slug)).toEqual(["northstar_msp"]);
    expect((await withSession(`/ui/api/v1/tenants/${id("southwind_msp")}`, as)).status).toBe(403);
    expect((await withSession(`/dashboard/api/overview/${id("southwind_msp")}`, as)).status).toBe(403);
    expect((await overview("client_alpha", as)).totals.total).toBe(4);
  });

  it("an MSP's overview counts exactly its own clients' tickets, names their overrides and who locked what", async () => {
    const north = await overview("northstar_msp");
    expect(north.tenant.name).toBe("NorthStar MSP");
    expect(north.clients.map((c) => c.name).sort()).toEqual(["Client Alpha", "Client Beta", "Harbor Dental", "Keystone Legal"]);
    expect(row(north, "client_alpha")).toMatchObject({
      open: 3,
      closed: 1,
      total: 4,
      via: "descendants",
      depth: 1,
      overrides: ["max_users"],
      status: "active",
    });
    expect(row(north, "harbor_dental")?.overrides).toEqual(["max_users", "sla_hours"]);
    expect(row(north, "keystone_legal")).toMatchObject({ status: "suspended", overrides: [] });
    // A client in its own schema is read through the same descendants scope.
    expect(row(north, "client_beta")).toMatchObject({ isolation_strategy: "SCHEMA", open: 2, closed: 2, total: 4, via: "descendants", overrides: [] });
    expect(north.totals).toEqual({ open: 10, closed: 8, total: 18 });
    expect(north.locked.map((l) => [l.key, l.locked_by.name])).toEqual([
      ["data_region", "AcmeSec"],
      ["theme", "AcmeSec"],
    ]);

    const south = await overview("southwind_msp");
    expect(south.clients.map((c) => c.name).sort()).toEqual(["Client Delta", "Client Gamma", "Client Omega", "Pinecrest Clinic"]);
    expect(row(south, "client_gamma")).toMatchObject({ open: 1, closed: 2 });
    expect(row(south, "client_delta")).toMatchObject({ open: 4, closed: 0, overrides: ["max_users"] });
    // A client in a database of its own is counted in its own scope, and says so.
    expect(row(south, "client_omega")).toMatchObject({ isolation_strategy: "DATABASE", open: 1, closed: 1, via: "own_scope" });
    expect(south.totals).toEqual({ open: 8, closed: 8, total: 16 });

    // Neither MSP sees the other's clients.
    expect(north.clients.some((c) => c.tenant_id === id("client_gamma"))).toBe(false);
    expect(south.clients.some((c) => [id("client_alpha"), id("client_beta")].includes(c.tenant_id))).toBe(false);
  });

  it("the MSSP root sees every descendant; a client sees only itself", async () => {
    const root = await overview("acmesec");
    expect(root.clients).toHaveLength(10);
    for (const slug of ["client_alpha", "client_gamma", "client_delta"]) expect(row(root, slug)?.via).toBe("descendants");
    expect(row(root, "client_alpha")).toMatchObject({ open: 3, closed: 1, depth: 2 });
    expect(row(root, "northstar_msp")).toMatchObject({ total: 0, depth: 1, overrides: ["max_users", "sla_hours"] });
    expect(root.totals).toEqual({ open: 18, closed: 16, total: 34 });

    const alpha = await overview("client_alpha");
    expect(alpha.clients).toEqual([]);
    expect(alpha.totals).toEqual({ open: 3, closed: 1, total: 4 });
  });

  it("signs the operator in to the control plane itself with the session JWT (no API key anywhere)", async () => {
    const bearer = (session: string) => ({ authorization: `Bearer ${session.slice(session.indexOf("=") + 1)}` });
    const direct = await fetch(`${url}/api/v1/tenants?roots=true`, { headers: bearer(cookie) });
    expect(direct.status).toBe(200);
    const viewAs = await withSession("/auth/view-as", cookie, { method: "POST", body: JSON.stringify({ tenant_id: id("northstar_msp") }) });
    const as = viewAs.headers.get("set-cookie")!.split(";")[0]!;
    // The token viewing as NorthStar is bounded by the control plane, not only by the proxy.
    expect((await fetch(`${url}/api/v1/tenants/${id("southwind_msp")}`, { headers: bearer(as) })).status).toBe(403);
    // A token the dashboard did not sign is refused.
    expect((await fetch(`${url}/api/v1/tenants`, { headers: bearer(`${cookie.slice(0, -4)}AAAA`) })).status).toBe(401);
  });

  it("the overview answers only to a signed-in operator", async () => {
    expect((await withSession(`/dashboard/api/overview/${id("acmesec")}`, null)).status).toBe(401);
    expect((await get(`/dashboard/api/overview/${id("acmesec")}`)).status).toBe(401);
    expect((await withSession(`/dashboard/api/overview/not-a-uuid`)).status).toBe(400);
    expect((await withSession(`/dashboard/api/overview/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  it("mounts the control plane under /api/v1 with the bootstrap key", async () => {
    const res = await get("/api/v1/tenants");
    expect(res.status).toBe(200);
    const page = (await res.json()) as { data: Array<{ slug: string }> };
    expect(page.data.map((t) => t.slug)).toContain("acmesec");
    const children = (await (await get(`/api/v1/tenants/${id("acmesec")}/children`)).json()) as Array<{ name: string }>;
    expect(children.map((t) => t.name).sort()).toEqual(["NorthStar MSP", "SouthWind MSP"]);
    expect((await get("/api/v1/tenants", null)).status).toBe(401);
    expect((await get("/health", null)).status).toBe(200);
  });
});
