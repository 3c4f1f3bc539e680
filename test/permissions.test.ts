import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPermissionService, type PermissionMode, type RevocationMode } from "../src/permissions/index.js";
import { rejectsWithCode as rejects } from "./support/errors.js";
import { countingDb, createScratchDb, insertChain, insertTenant, recordingAudit, type ScratchDb } from "./support/config-db.js";

let s: ScratchDb;
beforeAll(async () => {
  s = await createScratchDb("perm");
});
afterAll(async () => {
  await s?.drop();
});

describe("permissions: seed quick start", () => {
  it("root LOCKED manage_users reaches the client exactly as the seed shows", async () => {
    const perms = createPermissionService(s.db, { audit: recordingAudit() });
    const root = await insertTenant(s.db, null, "acmesec_p");
    const msp = await insertTenant(s.db, root, "northstar_msp_p");
    const clientA = await insertTenant(s.db, msp, "client_alpha_p");
    await perms.createPermission(root, { key: "manage_users", value: true, mode: "LOCKED", revocation_mode: "CASCADE" });
    const resolved = await perms.resolvePermissions(clientA);
    expect(resolved.manage_users).toEqual({
      key: "manage_users",
      value: true,
      mode: "LOCKED",
      source_tenant_id: root,
      locked: true,
      delegated: false,
    });
    await rejects(perms.createPermission(msp, { key: "manage_users", value: false, mode: "INHERITED" }), "PERMISSION_LOCKED");
    const audit = await s.db.query(`SELECT 1 FROM stratum_audit WHERE action = 'permission.create' AND tenant_id = $1`, [root]);
    expect(audit).toHaveLength(1);
  });
});

/**
 * Every mode × revocation cell. Tree: top → A → B → C. A grants `k` with the mode and revocation
 * mode under test; B does what the mode allows (nothing under LOCKED, a value override under
 * INHERITED, a LOCKED re-grant under DELEGATED); then A revokes.
 */
const modes: PermissionMode[] = ["LOCKED", "INHERITED", "DELEGATED"];
const revocations: RevocationMode[] = ["CASCADE", "SOFT", "PERMANENT"];

describe.each(modes)("mode %s", (mode) => {
  it.each(revocations)("revocation %s", async (revocation) => {
    const perms = createPermissionService(s.db, { audit: recordingAudit() });
    const [top, a, b, c] = (await insertChain(s.db, 4)) as [string, string, string, string];
    await perms.createPermission(a, { key: "k", value: "from_a", mode, revocation_mode: revocation });
    expect((await perms.resolvePermissions(top)).k).toBeUndefined();

    // what B may do under A's grant
    if (mode === "LOCKED") {
      await rejects(perms.createPermission(b, { key: "k", value: "from_b", mode: "INHERITED" }), "PERMISSION_LOCKED");
      expect(await perms.resolvePermission(c, "k")).toEqual({
        key: "k",
        value: "from_a",
        mode: "LOCKED",
        source_tenant_id: a,
        locked: true,
        delegated: false,
      });
    } else if (mode === "INHERITED") {
      await rejects(perms.createPermission(b, { key: "k", value: "from_b", mode: "LOCKED" }), "PERMISSION_NOT_DELEGATED");
      await rejects(perms.createPermission(b, { key: "k", value: "from_b", mode: "DELEGATED" }), "PERMISSION_NOT_DELEGATED");
      const override = await perms.createPermission(b, { key: "k", value: "from_b", mode: "INHERITED" });
      expect(override.delegated_from).toBeNull();
      expect(await perms.resolvePermission(c, "k")).toEqual({
        key: "k",
        value: "from_b",
        mode: "INHERITED",
        source_tenant_id: b,
        locked: false,
        delegated: false,
      });
      // C may override B's override in turn
      await perms.createPermission(c, { key: "k", value: "from_c", mode: "INHERITED" });
      expect((await perms.resolvePermission(c, "k"))?.value).toBe("from_c");
    } else {
      expect(await perms.resolvePermission(b, "k")).toMatchObject({ mode: "DELEGATED", delegated: true, source_tenant_id: a });
      const regrant = await perms.createPermission(b, { key: "k", value: "from_b", mode: "LOCKED" });
      expect(regrant.delegated_from).toBe(a);
      expect(await perms.resolvePermission(c, "k")).toEqual({
        key: "k",
        value: "from_b",
        mode: "LOCKED",
        source_tenant_id: b,
        locked: true,
        delegated: true,
      });
      await rejects(perms.createPermission(c, { key: "k", value: "from_c", mode: "INHERITED" }), "PERMISSION_LOCKED");
    }

    const result = await perms.revokePermission(a, "k");
    expect(result.revocation_mode).toBe(revocation);
    expect(result.tombstone).toBe(revocation === "PERMANENT");
    const hasDescendantRows = mode !== "LOCKED";

    const rows = await s.db.query<{ tenant_id: string; revoked_at: Date | null }>(
      `SELECT tenant_id::text, revoked_at FROM stratum_permissions WHERE key = 'k' AND tenant_id = ANY($1::uuid[]) ORDER BY tenant_id`,
      [[top, a, b, c]],
    );
    if (revocation === "CASCADE") {
      expect(rows).toEqual([]);
      for (const t of [a, b, c]) expect(await perms.resolvePermission(t, "k")).toBeNull();
      // a fresh grant is allowed again anywhere
      await perms.createPermission(b, { key: "k", value: "again", mode: "INHERITED" });
      expect((await perms.resolvePermission(c, "k"))?.value).toBe("again");
    } else if (revocation === "SOFT") {
      expect(await perms.resolvePermission(a, "k")).toBeNull();
      if (hasDescendantRows) {
        // what descendants already set survives
        expect((await perms.resolvePermission(b, "k"))?.value).toBe("from_b");
        const expectedC = mode === "INHERITED" ? "from_c" : "from_b";
        expect((await perms.resolvePermission(c, "k"))?.value).toBe(expectedC);
        expect(rows.some((r) => r.tenant_id === a)).toBe(false);
      } else {
        expect(rows).toEqual([]);
        expect(await perms.resolvePermission(c, "k")).toBeNull();
      }
      await perms.createPermission(a, { key: "k", value: "again", mode: "INHERITED" });
      expect((await perms.resolvePermission(a, "k"))?.value).toBe("again");
    } else {
      // a tombstone at A, nothing below
      expect(rows).toHaveLength(1);
      expect(rows[0]!.tenant_id).toBe(a);
      expect(rows[0]!.revoked_at).not.toBeNull();
      for (const t of [a, b, c]) {
        expect(await perms.resolvePermission(t, "k")).toBeNull();
        await rejects(perms.createPermission(t, { key: "k", value: "again", mode: "INHERITED" }), "PERMISSION_REVOKED");
      }
      await rejects(perms.revokePermission(a, "k"), "PERMISSION_REVOKED");
      await rejects(perms.updatePermission(a, "k", { value: 1 }), "PERMISSION_REVOKED");
      // a later grant above the tombstone does not reach into the revoked subtree
      await perms.createPermission(top, { key: "k", value: "top", mode: "LOCKED" });
      expect((await perms.resolvePermission(top, "k"))?.value).toBe("top");
      expect(await perms.resolvePermission(c, "k")).toBeNull();
    }
  });
});

describe("permissions: other rules", () => {
  it("SOFT and CASCADE fall back to the grant above the revoking tenant", async () => {
    const perms = createPermissionService(s.db, { audit: recordingAudit() });
    const [top, a, b] = (await insertChain(s.db, 3)) as [string, string, string];
    await perms.createPermission(top, { key: "export", value: { limit: 10 }, mode: "INHERITED" });
    await perms.createPermission(a, { key: "export", value: { limit: 5 }, mode: "INHERITED", revocation_mode: "SOFT" });
    expect(await perms.resolvePermission(b, "export")).toMatchObject({ value: { limit: 5 }, source_tenant_id: a });
    await perms.revokePermission(a, "export");
    expect(await perms.resolvePermission(b, "export")).toMatchObject({ value: { limit: 10 }, source_tenant_id: top });
  });

  it("updatePermission follows the same rules and re-grant chains record delegated_from", async () => {
    const perms = createPermissionService(s.db, { audit: recordingAudit() });
    const [top, a, b] = (await insertChain(s.db, 3)) as [string, string, string];
    await perms.createPermission(top, { key: "billing", value: true, mode: "DELEGATED" });
    const ra = await perms.createPermission(a, { key: "billing", value: true, mode: "DELEGATED" });
    expect(ra.delegated_from).toBe(top);
    const rb = await perms.createPermission(b, { key: "billing", value: false, mode: "INHERITED" });
    expect(rb.delegated_from).toBe(a);
    await rejects(perms.createPermission(b, { key: "billing", value: true, mode: "INHERITED" }), "CONFLICT");
    // A narrows its delegation to INHERITED: B's existing row stays, but B may no longer lock it
    await perms.updatePermission(a, "billing", { mode: "INHERITED" });
    await rejects(perms.updatePermission(b, "billing", { mode: "LOCKED" }), "PERMISSION_NOT_DELEGATED");
    const updated = await perms.updatePermission(b, "billing", { value: true });
    expect(updated.value).toBe(true);
    // top locks it: everyone below gets top's value
    await perms.updatePermission(top, "billing", { mode: "LOCKED", value: "top" });
    expect(await perms.resolvePermission(b, "billing")).toMatchObject({ value: "top", locked: true, source_tenant_id: top });
    await rejects(perms.updatePermission(b, "billing", { value: 1 }), "PERMISSION_LOCKED");
    await rejects(perms.updatePermission(b, "missing", { value: 1 }), "PERMISSION_NOT_FOUND");
    await rejects(perms.revokePermission(b, "missing"), "PERMISSION_NOT_FOUND");
    await rejects(perms.createPermission(b, { key: "x", value: 1, mode: "BOGUS" as PermissionMode }), "VALIDATION_FAILED");
    expect((await perms.listPermissions(b)).map((p) => p.key)).toEqual(["billing"]);
  });

  it("archived ancestors drop out, tombstones included", async () => {
    const perms = createPermissionService(s.db, { audit: recordingAudit() });
    const [top, a, b] = (await insertChain(s.db, 3)) as [string, string, string];
    await perms.createPermission(top, { key: "p", value: 1, mode: "INHERITED" });
    await perms.createPermission(a, { key: "p", value: 2, mode: "INHERITED" });
    await s.db.execute(`UPDATE stratum_tenants SET status = 'archived' WHERE id = $1`, [a]);
    expect(await perms.resolvePermission(b, "p")).toMatchObject({ value: 1, source_tenant_id: top });
  });

  it("resolves in exactly one statement at depth 20", async () => {
    const counted = countingDb(s.db);
    const perms = createPermissionService(counted, { audit: recordingAudit() });
    const chain = await insertChain(s.db, 20);
    for (let i = 0; i < 20; i++) {
      await perms.createPermission(chain[i]!, { key: `p${i}`, value: i, mode: i % 4 === 0 ? "LOCKED" : i % 4 === 1 ? "DELEGATED" : "INHERITED" });
    }
    counted.reset();
    const resolved = await perms.resolvePermissions(chain[19]!);
    expect(counted.count).toBe(1);
    expect(Object.keys(resolved)).toHaveLength(20);
    expect(resolved.p8).toMatchObject({ value: 8, locked: true, source_tenant_id: chain[8] });
  });
});
