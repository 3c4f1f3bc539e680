import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgDb, type Db } from "../src/core/db.js";
import { isStratumError } from "../src/index.js";
import { rejectsWithCode as expectCode } from "./support/errors.js";
import { createTenantService } from "../src/tenants/service.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let admin: pg.Pool;
const $ = () => client.prisma.$stratum;

beforeAll(async () => {
  db = await createTestDatabase({ label: "tenants" });
  client = stratumTestClient(db);
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
});

afterAll(async () => {
  await client?.close();
  await admin?.end();
  await db?.drop();
});

/** Every tree invariant, checked by the superuser on the raw table. */
async function assertTreeInvariants(): Promise<void> {
  const { rows } = await admin.query(`
    SELECT count(*) FILTER (WHERE c.depth <> nlevel(c.path) - 1) AS bad_depth,
           count(*) FILTER (WHERE c.parent_id IS NULL AND c.path <> text2ltree(replace(c.id::text, '-', '_'))) AS bad_root,
           count(*) FILTER (WHERE c.parent_id IS NOT NULL AND (p.id IS NULL OR c.path <> p.path || text2ltree(replace(c.id::text, '-', '_')))) AS bad_child,
           count(*) FILTER (WHERE c.path IS NULL) AS no_path
      FROM stratum_tenants c LEFT JOIN stratum_tenants p ON p.id = c.parent_id`);
  expect(rows[0]).toEqual({ bad_depth: "0", bad_root: "0", bad_child: "0", no_path: "0" });
}

describe("tenant hierarchy", () => {
  it("builds the quick start's tree with seed shapes and depths", async () => {
    const root = await $().createTenant({ name: "AcmeSec", slug: "acmesec", isolation_strategy: "SHARED_RLS" });
    const msp = await $().createTenant({ name: "NorthStar MSP", slug: "northstar_msp", parent_id: root.id });
    const alpha = await $().createTenant({ name: "Client Alpha", slug: "client_alpha", parent_id: msp.id });
    expect(root).toMatchObject({ name: "AcmeSec", slug: "acmesec", parent_id: null, depth: 0, status: "active", isolation_strategy: "SHARED_RLS" });
    expect(msp).toMatchObject({ parent_id: root.id, depth: 1 });
    expect(alpha.depth).toBe(2);
    expect(alpha.path).toEqual([root.id, msp.id, alpha.id]);
    const ancestors = await $().getAncestors(alpha.id);
    expect(ancestors.map((t) => t.slug)).toEqual(["acmesec", "northstar_msp"]);
    expect((await $().getDescendants(root.id)).map((t) => t.slug)).toEqual(["northstar_msp", "client_alpha"]);
    expect((await $().getChildren(root.id)).map((t) => t.id)).toEqual([msp.id]);
    expect((await $().getTenantBySlug("client_alpha")).id).toBe(alpha.id);
    await assertTreeInvariants();
  });

  it("derives a slug from the name when none is given (landing page shape)", async () => {
    const t = await $().createTenant({ name: "NorthStar Two" });
    expect(t.slug).toBe("northstar_two");
  });

  it("fetches ancestors in one statement at depth 19", async () => {
    let parent = await $().createTenant({ name: "one statement root" });
    for (let i = 1; i < 20; i++) parent = await $().createTenant({ name: `chain ${i}`, parent_id: parent.id });
    // The same service over a Db that counts what reaches PostgreSQL (as the superuser).
    let statements = 0;
    const inner = pgDb(admin);
    const counting: Db = {
      query: (sql, params) => (statements++, inner.query(sql, params)),
      execute: (sql, params) => (statements++, inner.execute(sql, params)),
      transaction: (fn) => inner.transaction(fn),
    };
    const service = createTenantService(counting, { audit: { record: async () => undefined } });
    const ancestors = await service.getAncestors(parent.id);
    expect(statements).toBe(1);
    expect(ancestors.map((a) => a.depth)).toEqual(Array.from({ length: 19 }, (_, i) => i));
    expect(ancestors[18]!.id).toBe(parent.parent_id);
  });

  it("refuses bad slugs, reserved slugs and taken slugs with typed errors", async () => {
    await expectCode($().createTenant({ name: "x", slug: "Bad-Slug" }), "INVALID_SLUG");
    await expectCode($().createTenant({ name: "x", slug: "1abc" }), "INVALID_SLUG");
    for (const slug of ["public", "pg_catalog", "stratum_x", "information_schema"]) {
      await expectCode($().createTenant({ name: "x", slug }), "INVALID_SLUG");
    }
    await $().createTenant({ name: "Taken", slug: "taken" });
    await expectCode($().createTenant({ name: "Taken again", slug: "taken" }), "SLUG_TAKEN");
    await expectCode($().createTenant({ name: "" } as never), "VALIDATION_FAILED");
    await expectCode($().createTenant({ name: "x", parent_id: "not-a-uuid" }), "VALIDATION_FAILED");
    await expectCode($().createTenant({ name: "x", parent_id: "00000000-0000-4000-8000-000000000001" }), "TENANT_NOT_FOUND");
    await expectCode($().getTenant("00000000-0000-4000-8000-000000000001"), "TENANT_NOT_FOUND");
  });

  it("allows 20 levels and refuses the 21st", async () => {
    let parent = await $().createTenant({ name: "deep 0" });
    for (let depth = 1; depth < 20; depth++) parent = await $().createTenant({ name: `deep ${depth}`, parent_id: parent.id });
    expect(parent.depth).toBe(19);
    await expectCode($().createTenant({ name: "deep 20", parent_id: parent.id }), "MAX_DEPTH_EXCEEDED");
    const count = await admin.query("SELECT count(*)::int AS n FROM stratum_tenants WHERE slug = 'deep_20'");
    expect(count.rows[0].n).toBe(0);
  });

  it("moves a subtree in one statement, refusing cycles and depth overflow", async () => {
    const a = await $().createTenant({ name: "move a" });
    const b = await $().createTenant({ name: "move b", parent_id: a.id });
    const c = await $().createTenant({ name: "move c", parent_id: b.id });
    const other = await $().createTenant({ name: "move other" });
    const moved = await $().moveTenant(b.id, other.id);
    expect(moved.parent_id).toBe(other.id);
    expect(moved.path).toEqual([other.id, b.id]);
    expect((await $().getTenant(c.id)).path).toEqual([other.id, b.id, c.id]);
    expect((await $().getTenant(c.id)).depth).toBe(2);
    await expectCode($().moveTenant(b.id, c.id), "CYCLE_DETECTED");
    await expectCode($().moveTenant(b.id, b.id), "CYCLE_DETECTED");
    const toRoot = await $().moveTenant(b.id, null);
    expect(toRoot).toMatchObject({ parent_id: null, depth: 0 });
    expect((await $().getTenant(c.id)).depth).toBe(1);
    // A chain of 19 under one root plus a 2-level subtree cannot fit.
    let deep = await $().createTenant({ name: "overflow 0" });
    for (let i = 1; i < 19; i++) deep = await $().createTenant({ name: `overflow ${i}`, parent_id: deep.id });
    await expectCode($().moveTenant(b.id, deep.id), "MAX_DEPTH_EXCEEDED");
    await assertTreeInvariants();
  });

  it("suspends, archives and restores; archived tenants refuse children and keep their row", async () => {
    const t = await $().createTenant({ name: "lifecycle" });
    expect((await $().suspendTenant(t.id)).status).toBe("suspended");
    const archived = await $().archiveTenant(t.id);
    expect(archived.status).toBe("archived");
    expect(archived.archived_at).not.toBeNull();
    await expectCode($().createTenant({ name: "child of archived", parent_id: t.id }), "TENANT_ARCHIVED");
    const restored = await $().restoreTenant(t.id);
    expect(restored).toMatchObject({ status: "active", archived_at: null });
  });

  it("deletes only leaves unless asked to cascade", async () => {
    const p = await $().createTenant({ name: "del parent" });
    const ch = await $().createTenant({ name: "del child", parent_id: p.id });
    await expectCode($().deleteTenant(p.id), "TENANT_HAS_CHILDREN");
    expect((await $().getTenant(ch.id)).id).toBe(ch.id);
    const result = await $().deleteTenant(p.id, { cascade: true });
    expect(result.deleted.sort()).toEqual([p.id, ch.id].sort());
    await expectCode($().getTenant(ch.id), "TENANT_NOT_FOUND");
  });

  it("lists with filters and cursor pagination", async () => {
    const parent = await $().createTenant({ name: "list parent" });
    for (let i = 0; i < 5; i++) await $().createTenant({ name: `list child ${i}`, parent_id: parent.id });
    const first = await $().listTenants({ parent_id: parent.id, limit: 2 });
    expect(first.data).toHaveLength(2);
    const second = await $().listTenants({ parent_id: parent.id, limit: 2, cursor: first.next_cursor });
    const third = await $().listTenants({ parent_id: parent.id, limit: 2, cursor: second.next_cursor });
    expect(third.next_cursor).toBeNull();
    const ids = [...first.data, ...second.data, ...third.data].map((t) => t.slug);
    expect(ids).toEqual([0, 1, 2, 3, 4].map((i) => `list_child_${i}`));
    expect((await $().listTenants({ search: "LIST CHILD 3" })).data.map((t) => t.slug)).toEqual(["list_child_3"]);
    await expectCode($().listTenants({ cursor: "garbage" }), "VALIDATION_FAILED");
  });

  it("writes an audit row with each mutation", async () => {
    const t = await $().createTenant({ name: "audited" });
    const { rows } = await admin.query("SELECT action, actor FROM stratum_audit WHERE target_id = $1", [t.id]);
    expect(rows.map((r) => r.action)).toContain("tenant.create");
  });
});

describe("updating in place", () => {
  it("renames and replaces metadata, audited with both values; slug, parent and strategy cannot change here", async () => {
    const t = await $().createTenant({ name: "Before Rename", metadata: { tier: "gold" } });
    const renamed = await $().updateTenant(t.id, { name: "After Rename" });
    expect(renamed).toMatchObject({ id: t.id, name: "After Rename", slug: t.slug, metadata: { tier: "gold" } });
    const retagged = await $().updateTenant(t.id, { metadata: { tier: "silver", seats: 5 } });
    expect(retagged.metadata).toEqual({ tier: "silver", seats: 5 });
    expect((await $().getTenant(t.id)).name).toBe("After Rename");
    const audit = await admin.query("SELECT before, after FROM stratum_audit WHERE action = 'tenant.update' AND target_id = $1 ORDER BY id", [t.id]);
    expect(audit.rows.map((r) => [r.before.name, r.after.name])).toEqual([
      ["Before Rename", "After Rename"],
      ["After Rename", "After Rename"],
    ]);
    for (const patch of [{}, { slug: "other" }, { parent_id: null }, { isolation_strategy: "SCHEMA" }, { name: "  " }]) {
      await expectCode($().updateTenant(t.id, patch as never), "VALIDATION_FAILED");
    }
    await expectCode($().updateTenant("00000000-0000-4000-8000-000000000001", { name: "x" }), "TENANT_NOT_FOUND");
    await $().archiveTenant(t.id);
    await expectCode($().updateTenant(t.id, { name: "Archived" }), "TENANT_ARCHIVED");
  });
});

describe("concurrency", () => {
  it("16 concurrent creators under one parent keep every invariant", async () => {
    const parent = await $().createTenant({ name: "busy parent" });
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => $().createTenant({ name: `busy ${i}`, parent_id: parent.id })));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(await $().getChildren(parent.id)).toHaveLength(16);
    await assertTreeInvariants();
  });

  it("8 concurrent moves in one tree never corrupt it", async () => {
    for (let round = 0; round < 3; round++) {
      const root = await $().createTenant({ name: `mv root ${round}` });
      const nodes = [root];
      for (let i = 0; i < 12; i++) {
        nodes.push(await $().createTenant({ name: `mv ${round} ${i}`, parent_id: nodes[Math.floor(i / 2)]!.id }));
      }
      const moves = Array.from({ length: 8 }, (_, i) => {
        const node = nodes[1 + ((i * 5) % 12)]!;
        const target = nodes[(i * 7 + 3) % 13]!;
        return $()
          .moveTenant(node.id, target.id)
          .catch((e: unknown) => {
            if (isStratumError(e, "CYCLE_DETECTED") || isStratumError(e, "MAX_DEPTH_EXCEEDED")) return null;
            throw e;
          });
      });
      await Promise.all(moves);
      await assertTreeInvariants();
      const { rows } = await admin.query("SELECT count(*)::int AS n FROM stratum_tenants WHERE path <@ (SELECT path FROM stratum_tenants WHERE id = $1)", [
        root.id,
      ]);
      expect(rows[0].n).toBe(13);
    }
  });
});
