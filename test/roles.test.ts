/** Roles on real PostgreSQL: defined as permissions, inherited down the tree, assigned, resolved in one call. */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";
import { rejectsWithCode as rejects } from "./support/errors.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let s: ReturnType<typeof stratumTestClient>["prisma"]["$stratum"];
let n = 0;

/** root → msp → client, and a sibling msp with nothing assigned. */
async function tree() {
  const tag = `r${++n}`;
  const root = (await s.createTenant({ name: "Root", slug: `${tag}_root` })).id;
  const msp = (await s.createTenant({ name: "MSP", slug: `${tag}_msp`, parent_id: root })).id;
  const leaf = (await s.createTenant({ name: "Client", slug: `${tag}_client`, parent_id: msp })).id;
  const other = (await s.createTenant({ name: "Other", slug: `${tag}_other`, parent_id: root })).id;
  return { root, msp, leaf, other };
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "roles" });
  client = stratumTestClient(db);
  s = client.prisma.$stratum;
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

describe("roles are permissions", () => {
  it("a role defined at the root resolves at every descendant, with its source, and shows as the permission role:<name>", async () => {
    const t = await tree();
    const role = await s.defineRole(t.root, { name: "auditor", scopes: ["tenants:read", "audit:read", "audit:read"], mode: "LOCKED" });
    expect(role).toMatchObject({ name: "auditor", tenant_id: t.root, scopes: ["audit:read", "tenants:read"], mode: "LOCKED", revocation_mode: "CASCADE" });
    expect(await s.resolveRole(t.leaf, "auditor")).toEqual({
      name: "auditor",
      scopes: ["audit:read", "tenants:read"],
      description: null,
      mode: "LOCKED",
      source_tenant_id: t.root,
      locked: true,
      delegated: false,
    });
    expect((await s.resolvePermissions(t.leaf))["role:auditor"]).toMatchObject({ source_tenant_id: t.root, locked: true });
    expect((await s.listRoles(t.msp)).map((r) => r.name)).toEqual(["auditor"]);
  });

  it("a LOCKED role cannot be overridden below; an INHERITED one can, and the override is what the subtree sees", async () => {
    const t = await tree();
    await s.defineRole(t.root, { name: "locked_ops", scopes: ["tenants:read"], mode: "LOCKED" });
    await rejects(s.defineRole(t.msp, { name: "locked_ops", scopes: ["*"] }), "PERMISSION_LOCKED");
    await s.defineRole(t.root, { name: "support", scopes: ["tenants:read"] });
    await rejects(s.defineRole(t.msp, { name: "support", scopes: ["*"], mode: "LOCKED" }), "PERMISSION_NOT_DELEGATED");
    await s.defineRole(t.msp, { name: "support", scopes: ["tenants:read", "config:read"] });
    expect((await s.resolveRole(t.leaf, "support"))?.scopes).toEqual(["config:read", "tenants:read"]);
    expect((await s.resolveRole(t.other, "support"))?.scopes).toEqual(["tenants:read"]);
  });

  it("updateRole changes scopes and keeps the description; deleteRole follows the revocation mode", async () => {
    const t = await tree();
    await s.defineRole(t.root, { name: "editor", scopes: ["config:write"], description: "Edits config", revocation_mode: "CASCADE" });
    await s.defineRole(t.msp, { name: "editor", scopes: ["config:read"] });
    const updated = await s.updateRole(t.root, "editor", { scopes: ["config:write", "config:read"] });
    expect(updated).toMatchObject({ scopes: ["config:read", "config:write"], description: "Edits config" });
    await rejects(s.updateRole(t.leaf, "editor", { scopes: ["x"] }), "PERMISSION_NOT_FOUND");
    const removed = await s.deleteRole(t.root, "editor");
    expect(removed).toEqual({ name: "editor", revocation_mode: "CASCADE", removed: 2, tombstone: false });
    expect(await s.resolveRole(t.leaf, "editor")).toBeNull();
  });

  it("refuses bad names and scopes before SQL", async () => {
    const t = await tree();
    await rejects(s.defineRole(t.root, { name: "Bad Name", scopes: ["a"] }), "VALIDATION_FAILED");
    await rejects(s.defineRole(t.root, { name: "ok", scopes: [] }), "VALIDATION_FAILED");
    await rejects(s.defineRole(t.root, { name: "ok", scopes: ["has space"] }), "VALIDATION_FAILED");
    await rejects(s.listRoles("not-a-uuid"), "INVALID_TENANT_ID");
  });
});

describe("assignments and resolvePrincipalScopes", () => {
  it("an assignment holds at its tenant and below, never above or beside; the role is read where asked", async () => {
    const t = await tree();
    await s.defineRole(t.root, { name: "support", scopes: ["tickets:read"] });
    await s.defineRole(t.root, { name: "billing", scopes: ["invoices:read"], mode: "LOCKED" });
    await s.defineRole(t.msp, { name: "support", scopes: ["tickets:read", "tickets:close"] }); // override in msp's subtree
    const user = { type: "user" as const, id: "user_42" };
    await s.assignRole(t.msp, user, "support");
    await s.assignRole(t.root, user, "billing");

    const atLeaf = await s.resolvePrincipalScopes(t.leaf, user);
    expect(atLeaf.scopes).toEqual(["invoices:read", "tickets:close", "tickets:read"]);
    expect(atLeaf.roles).toEqual([
      { role: "billing", assigned_at: t.root, scopes: ["invoices:read"], resolved: true },
      { role: "support", assigned_at: t.msp, scopes: ["tickets:close", "tickets:read"], resolved: true },
    ]);
    expect((await s.resolvePrincipalScopes(t.root, user)).scopes).toEqual(["invoices:read"]);
    expect((await s.resolvePrincipalScopes(t.other, user)).scopes).toEqual(["invoices:read"]);
    expect((await s.resolvePrincipalScopes(t.leaf, { type: "user", id: "someone_else" })).scopes).toEqual([]);
    // the same id as an API key is another principal
    expect((await s.resolvePrincipalScopes(t.leaf, { type: "api_key", id: "user_42" })).scopes).toEqual([]);
  });

  it("a role deleted after assignment gives nothing (and says so); assigning twice is one assignment; unassign removes it", async () => {
    const t = await tree();
    await s.defineRole(t.root, { name: "temp", scopes: ["a:b"] });
    const user = { type: "user" as const, id: "u_temp" };
    const first = await s.assignRole(t.msp, user, "temp");
    expect(await s.assignRole(t.msp, user, "temp")).toEqual(first);
    expect(await s.listRoleAssignments(t.msp, user)).toHaveLength(1);
    await s.deleteRole(t.root, "temp");
    expect(await s.resolvePrincipalScopes(t.leaf, user)).toMatchObject({ scopes: [], roles: [{ role: "temp", resolved: false, scopes: [] }] });
    expect(await s.unassignRole(t.msp, user, "temp")).toBe(true);
    expect(await s.unassignRole(t.msp, user, "temp")).toBe(false);
    const assigned = await s.listAudit(t.msp, { action: "role.assign" });
    const unassigned = await s.listAudit(t.msp, { action: "role.unassign" });
    expect([assigned.entries.length, unassigned.entries.length]).toEqual([1, 1]);
  });

  it("refuses a role not defined at the tenant, an unknown key, and a restricted key outside its subtree", async () => {
    const t = await tree();
    await s.defineRole(t.msp, { name: "msp_only", scopes: ["x:y"] });
    await rejects(s.assignRole(t.root, { type: "user", id: "u" }, "msp_only"), "NOT_FOUND");
    await rejects(s.assignRole(t.msp, { type: "api_key", id: "00000000-0000-4000-8000-000000000000" }, "msp_only"), "NOT_FOUND");
    const key = await s.createApiKey({ name: "leaf key", scopes: ["tenants:read"], tenant_id: t.leaf });
    await rejects(s.assignRole(t.msp, { type: "api_key", id: key.id }, "msp_only"), "VALIDATION_FAILED");
    const ok = await s.assignRole(t.leaf, { type: "api_key", id: key.id }, "msp_only");
    expect(ok).toMatchObject({ tenant_id: t.leaf, principal_type: "api_key", principal_id: key.id, role: "msp_only" });
    await rejects(s.resolvePrincipalScopes("00000000-0000-4000-8000-000000000000", { type: "user", id: "u" }), "TENANT_NOT_FOUND");
  });

  it("deleting a tenant removes its assignments with it", async () => {
    const t = await tree();
    await s.defineRole(t.root, { name: "gone", scopes: ["a:b"] });
    await s.assignRole(t.leaf, { type: "user", id: "u_gone" }, "gone");
    await s.deleteTenant(t.leaf);
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      const rows = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM stratum_role_assignments WHERE tenant_id = $1`, [t.leaf]);
      expect(rows.rows[0]?.n).toBe(0);
    } finally {
      await owner.end();
    }
  });
});
