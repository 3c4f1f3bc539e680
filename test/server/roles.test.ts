/** Roles over HTTP and the SDK: scopes from roles at a tenant and below, and no escalation through them. */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stratum as sdk, type StratumSdk } from "../../src/sdk/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

let f: ServerFixture;
let app: FastifyInstance;
let s: StratumSdk;
let root: string;
let msp: string;
let leaf: string;
const api = "/api/v1";
const newTenant = async (name: string, parent_id?: string) =>
  expectStatus<{ id: string }>(await f.call("POST", `${api}/tenants`, { name, ...(parent_id ? { parent_id } : {}) }), 201).id;
const newKey = async (body: Record<string, unknown>) => expectStatus<{ id: string; key: string }>(await f.call("POST", `${api}/api-keys`, body), 201);

beforeAll(async () => {
  f = await serverFixture("srv_roles");
  root = await newTenant("Roles Root");
  msp = await newTenant("Roles MSP", root);
  leaf = await newTenant("Roles Leaf", msp);
  expectStatus(await f.call("POST", `${api}/tenants/${root}/roles`, { name: "auditor", scopes: ["audit:read", "tenants:read"], mode: "LOCKED" }), 201);
  app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP });
  s = sdk({ controlPlaneUrl: await app.listen({ port: 0, host: "127.0.0.1" }), apiKey: BOOTSTRAP });
});
afterAll(async () => {
  await app?.close();
  await f?.close();
});

describe("roles routes", () => {
  it("define, list as resolved below, override refused under LOCKED, delete", async () => {
    const roles = expectStatus<Array<{ name: string; source_tenant_id: string }>>(await f.call("GET", `${api}/tenants/${leaf}/roles`), 200);
    expect(roles).toEqual([expect.objectContaining({ name: "auditor", source_tenant_id: root, locked: true, scopes: ["audit:read", "tenants:read"] })]);
    const refused = await f.call("POST", `${api}/tenants/${msp}/roles`, { name: "auditor", scopes: ["*"] });
    expect([refused.statusCode, refused.json().error.code]).toEqual([409, "PERMISSION_LOCKED"]);
    expectStatus(await f.call("POST", `${api}/tenants/${msp}/roles`, { name: "scratch", scopes: ["x:y"] }), 201);
    expect(expectStatus(await f.call("PATCH", `${api}/tenants/${msp}/roles/scratch`, { scopes: ["x:z"] }), 200)).toMatchObject({ scopes: ["x:z"] });
    expect(expectStatus(await f.call("DELETE", `${api}/tenants/${msp}/roles/scratch`), 200)).toMatchObject({ name: "scratch", removed: 1 });
  });

  it("a key without audit:read is refused, then reads the audit of its subtree once it holds the auditor role there", async () => {
    const key = await newKey({ name: "msp ops", scopes: ["config:read"], tenant_id: msp });
    expect((await f.call("GET", `${api}/tenants/${leaf}/audit`, undefined, key.key)).statusCode).toBe(403);
    expectStatus(await f.call("POST", `${api}/tenants/${msp}/role-assignments`, { principal_type: "api_key", principal_id: key.id, role: "auditor" }), 201);
    expectStatus(await f.call("GET", `${api}/tenants/${leaf}/audit`, undefined, key.key), 200);
    expectStatus(await f.call("GET", `${api}/tenants/${msp}/audit`, undefined, key.key), 200);
    expect((await f.call("GET", `${api}/tenants/${root}/audit`, undefined, key.key)).statusCode).toBe(403);
    expectStatus(await f.call("DELETE", `${api}/tenants/${msp}/role-assignments/api_key/${key.id}/auditor`), 200);
    expect((await f.call("GET", `${api}/tenants/${leaf}/audit`, undefined, key.key)).statusCode).toBe(403);
  });

  it("an unrestricted key's role reaches only the subtree it was assigned at", async () => {
    const key = await newKey({ name: "global", scopes: ["config:read"] });
    expectStatus(await f.call("POST", `${api}/tenants/${msp}/role-assignments`, { principal_type: "api_key", principal_id: key.id, role: "auditor" }), 201);
    expectStatus(await f.call("GET", `${api}/tenants/${leaf}/audit`, undefined, key.key), 200);
    expect((await f.call("GET", `${api}/tenants/${root}/audit`, undefined, key.key)).statusCode).toBe(403);
  });

  it("one call answers a user's scopes at a tenant", async () => {
    expectStatus(await f.call("POST", `${api}/tenants/${msp}/role-assignments`, { principal_type: "user", principal_id: "user/42", role: "auditor" }), 201);
    const scopes = expectStatus(await f.call("GET", `${api}/tenants/${leaf}/principals/user/${encodeURIComponent("user/42")}/scopes`), 200);
    expect(scopes).toEqual({
      tenant_id: leaf,
      principal: { type: "user", id: "user/42" },
      scopes: ["audit:read", "tenants:read"],
      roles: [{ role: "auditor", assigned_at: msp, scopes: ["audit:read", "tenants:read"], resolved: true }],
    });
    const listed = expectStatus<unknown[]>(await f.call("GET", `${api}/tenants/${msp}/role-assignments?principal_type=user&principal_id=user%2F42`), 200);
    expect(listed).toHaveLength(1);
  });
});

describe("no escalation through roles", () => {
  it("a role holding a scope the caller lacks is refused, to define and to assign", async () => {
    const admin = await newKey({ name: "role admin", scopes: ["roles:write", "roles:read", "keys:admin", "tenants:read"], tenant_id: msp });
    const define = await f.call("POST", `${api}/tenants/${msp}/roles`, { name: "god", scopes: ["*"] }, admin.key);
    expect([define.statusCode, define.json().error.code]).toEqual([403, "FORBIDDEN"]);
    const widen = await f.call("POST", `${api}/tenants/${msp}/roles`, { name: "reader", scopes: ["tenants:read"] }, admin.key);
    expect(widen.statusCode).toBe(201);
    expect((await f.call("PATCH", `${api}/tenants/${msp}/roles/reader`, { scopes: ["tenants:write"] }, admin.key)).statusCode).toBe(403);
    const other = await newKey({ name: "target", scopes: ["tenants:read"], tenant_id: leaf });
    const assign = await f.call(
      "POST",
      `${api}/tenants/${msp}/role-assignments`,
      { principal_type: "api_key", principal_id: other.id, role: "auditor" },
      admin.key,
    );
    expect([assign.statusCode, assign.json().error.message]).toEqual([403, expect.stringContaining("audit:read")]);
  });

  it("a role written as a plain permission would widen its holders, so the permission routes refuse role: keys", async () => {
    // Without the refusal: the library accepts the key, and every holder of the role gains "*".
    await f.prisma.$stratum.defineRole(msp, { name: "viewer", scopes: ["tenants:read"] });
    await f.prisma.$stratum.assignRole(msp, { type: "user", id: "viewer_1" }, "viewer");
    await f.prisma.$stratum.createPermission(leaf, { key: "role:viewer", value: { scopes: ["*"] }, mode: "INHERITED" });
    expect((await f.prisma.$stratum.resolvePrincipalScopes(leaf, { type: "user", id: "viewer_1" })).scopes).toEqual(["*"]);
    // Over HTTP a permissions:write key cannot do the same.
    const writer = await newKey({ name: "perm writer", scopes: ["permissions:write"], tenant_id: msp });
    const res = await f.call("POST", `${api}/tenants/${msp}/permissions`, { key: "role:viewer", value: { scopes: ["*"] }, mode: "INHERITED" }, writer.key);
    expect([res.statusCode, res.json().error.code]).toEqual([403, "FORBIDDEN"]);
    expect((await f.call("PATCH", `${api}/tenants/${leaf}/permissions/role:viewer`, { value: { scopes: ["*"] } }, writer.key)).statusCode).toBe(403);
  });
});

describe("roles in the SDK", () => {
  it("defines, assigns, resolves and unassigns against the running server", async () => {
    await s.roles.define(leaf, { name: "sdk_role", scopes: ["tickets:read"] });
    expect((await s.roles.list(leaf)).map((r) => r.name)).toContain("sdk_role");
    const who = { type: "user" as const, id: "sdk_user" };
    expect(await s.roles.assign(leaf, who, "sdk_role")).toMatchObject({ role: "sdk_role", principal_id: "sdk_user" });
    expect(await s.roles.assignments(leaf, who)).toHaveLength(1);
    expect((await s.roles.principalScopes(leaf, who)).scopes).toEqual(["tickets:read"]);
    expect(await s.roles.update(leaf, "sdk_role", { scopes: ["tickets:read", "tickets:close"] })).toMatchObject({ scopes: ["tickets:close", "tickets:read"] });
    expect(await s.roles.unassign(leaf, who, "sdk_role")).toBe(true);
    expect((await s.roles.delete(leaf, "sdk_role")).removed).toBe(1);
  });
});
