/** The control plane's tenant and config routes, starting with the seed's curl walk-through. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface TenantBody {
  id: string;
  parent_id: string | null;
  slug: string;
  name: string;
  depth: number;
  path: string[];
  status: string;
  isolation_strategy: string;
  created_at: string;
}

let f: ServerFixture;
beforeAll(async () => {
  f = await serverFixture("srv_tenants");
});
afterAll(async () => {
  await f?.close();
});

describe("the seed's REST quick start", () => {
  it("creates a root and a child with the bootstrap key, then resolves the child's config with inheritance", async () => {
    const root = expectStatus<TenantBody>(await f.call("POST", "/api/v1/tenants", { name: "AcmeSec", slug: "acmesec", isolation_strategy: "SHARED_RLS" }), 201);
    expect(root).toMatchObject({ name: "AcmeSec", slug: "acmesec", parent_id: null, depth: 0, isolation_strategy: "SHARED_RLS", status: "active" });
    expect(root.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);

    const child = expectStatus<TenantBody>(await f.call("POST", "/api/v1/tenants", { name: "NorthStar MSP", slug: "northstar_msp", parent_id: root.id }), 201);
    expect(child).toMatchObject({ parent_id: root.id, depth: 1, path: [root.id, child.id] });

    expectStatus(await f.call("PUT", `/api/v1/tenants/${root.id}/config/max_users`, { value: 1000, locked: false }), 200);
    expectStatus(await f.call("PUT", `/api/v1/tenants/${root.id}/config/theme`, { value: "dark", locked: true }), 200);
    const config = expectStatus(await f.call("GET", `/api/v1/tenants/${child.id}/config`), 200);
    expect(config).toEqual({
      max_users: { value: 1000, inherited: true, locked: false, source_tenant_id: root.id },
      theme: { value: "dark", inherited: true, locked: true, source_tenant_id: root.id },
    });

    // The child overrides the unlocked key; the locked one is refused with the stable code.
    expectStatus(await f.call("PUT", `/api/v1/tenants/${child.id}/config/max_users`, { value: 500 }), 200);
    const locked = expectStatus<{ error: { code: string; message: string } }>(
      await f.call("PUT", `/api/v1/tenants/${child.id}/config/theme`, { value: "light" }),
      409,
    );
    expect(locked.error.code).toBe("CONFIG_LOCKED");
    expect(expectStatus(await f.call("GET", `/api/v1/tenants/${child.id}/config/max_users`), 200)).toEqual({
      value: 500,
      inherited: false,
      locked: false,
      source_tenant_id: child.id,
    });
  });
});

describe("tenant routes", () => {
  let root: TenantBody;
  let a: TenantBody;
  let b: TenantBody;
  let leaf: TenantBody;

  beforeAll(async () => {
    root = expectStatus(await f.call("POST", "/api/v1/tenants", { name: "Tree Root" }), 201);
    a = expectStatus(await f.call("POST", "/api/v1/tenants", { name: "Branch A", parent_id: root.id }), 201);
    b = expectStatus(await f.call("POST", "/api/v1/tenants", { name: "Branch B", parent_id: root.id }), 201);
    leaf = expectStatus(await f.call("POST", "/api/v1/tenants", { name: "Leaf", parent_id: a.id }), 201);
  });

  it("derives the slug from the name and reads by id and by slug", async () => {
    expect(root.slug).toBe("tree_root");
    expect(expectStatus<TenantBody>(await f.call("GET", `/api/v1/tenants/${a.id}`), 200).id).toBe(a.id);
    expect(expectStatus<TenantBody>(await f.call("GET", "/api/v1/tenants/by-slug/branch_b"), 200).id).toBe(b.id);
  });

  it("lists with filters and pages by cursor", async () => {
    const children = expectStatus<{ data: TenantBody[]; next_cursor: string | null }>(await f.call("GET", `/api/v1/tenants?parent_id=${root.id}`), 200);
    expect(children.data.map((t) => t.id)).toEqual([a.id, b.id]);
    const page1 = expectStatus<{ data: TenantBody[]; next_cursor: string | null }>(await f.call("GET", `/api/v1/tenants?parent_id=${root.id}&limit=1`), 200);
    expect(page1.data.map((t) => t.id)).toEqual([a.id]);
    const page2 = expectStatus<{ data: TenantBody[]; next_cursor: string | null }>(
      await f.call("GET", `/api/v1/tenants?parent_id=${root.id}&limit=1&cursor=${encodeURIComponent(page1.next_cursor!)}`),
      200,
    );
    expect(page2.data.map((t) => t.id)).toEqual([b.id]);
    const searched = expectStatus<{ data: TenantBody[] }>(await f.call("GET", "/api/v1/tenants?search=branch"), 200);
    expect(searched.data.map((t) => t.slug).sort()).toEqual(["branch_a", "branch_b"]);
  });

  it("renames and retags in place (PATCH), refuses what PATCH cannot change, and lists top-level tenants with roots=true", async () => {
    const renamed = expectStatus<TenantBody & { metadata: unknown }>(
      await f.call("PATCH", `/api/v1/tenants/${b.id}`, { name: "Branch B2", metadata: { region: "eu" } }),
      200,
    );
    expect(renamed).toMatchObject({ id: b.id, name: "Branch B2", slug: "branch_b", metadata: { region: "eu" } });
    expect(expectStatus<TenantBody>(await f.call("GET", `/api/v1/tenants/${b.id}`), 200).name).toBe("Branch B2");
    expectStatus(await f.call("PATCH", `/api/v1/tenants/${b.id}`, { slug: "other" }), 400);
    expectStatus(await f.call("PATCH", `/api/v1/tenants/${b.id}`, {}), 400);
    const roots = expectStatus<{ data: TenantBody[] }>(await f.call("GET", "/api/v1/tenants?roots=true&limit=200"), 200);
    expect(roots.data.length).toBeGreaterThan(0);
    expect(roots.data.every((t) => t.parent_id === null)).toBe(true);
    expect(roots.data.map((t) => t.id)).toContain(root.id);
  });

  it("walks the tree: children, ancestors, descendants", async () => {
    expect(expectStatus<TenantBody[]>(await f.call("GET", `/api/v1/tenants/${a.id}/children`), 200).map((t) => t.id)).toEqual([leaf.id]);
    expect(expectStatus<TenantBody[]>(await f.call("GET", `/api/v1/tenants/${leaf.id}/ancestors`), 200).map((t) => t.id)).toEqual([root.id, a.id]);
    expect(
      expectStatus<TenantBody[]>(await f.call("GET", `/api/v1/tenants/${root.id}/descendants`), 200)
        .map((t) => t.id)
        .sort(),
    ).toEqual([a.id, b.id, leaf.id].sort());
  });

  it("moves a subtree, refuses a cycle, and changes status", async () => {
    const moved = expectStatus<TenantBody>(await f.call("POST", `/api/v1/tenants/${leaf.id}/move`, { parent_id: b.id }), 200);
    expect(moved).toMatchObject({ parent_id: b.id, path: [root.id, b.id, leaf.id] });
    const cycle = expectStatus<{ error: { code: string } }>(await f.call("POST", `/api/v1/tenants/${b.id}/move`, { parent_id: leaf.id }), 409);
    expect(cycle.error.code).toBe("CYCLE_DETECTED");

    expect(expectStatus<TenantBody>(await f.call("POST", `/api/v1/tenants/${leaf.id}/suspend`), 200).status).toBe("suspended");
    expect(expectStatus<TenantBody>(await f.call("POST", `/api/v1/tenants/${leaf.id}/archive`), 200).status).toBe("archived");
    const archivedParent = expectStatus<{ error: { code: string } }>(
      await f.call("POST", "/api/v1/tenants", { name: "Under Archived", parent_id: leaf.id }),
      409,
    );
    expect(archivedParent.error.code).toBe("TENANT_ARCHIVED");
    expect(expectStatus<TenantBody>(await f.call("POST", `/api/v1/tenants/${leaf.id}/restore`), 200).status).toBe("active");
  });

  it("deletes: refused with children unless cascade=true", async () => {
    const t = expectStatus<TenantBody>(await f.call("POST", "/api/v1/tenants", { name: "Doomed" }), 201);
    const c = expectStatus<TenantBody>(await f.call("POST", "/api/v1/tenants", { name: "Doomed Child", parent_id: t.id }), 201);
    expect(expectStatus<{ error: { code: string } }>(await f.call("DELETE", `/api/v1/tenants/${t.id}`), 409).error.code).toBe("TENANT_HAS_CHILDREN");
    const done = expectStatus<{ deleted: string[] }>(await f.call("DELETE", `/api/v1/tenants/${t.id}?cascade=true`), 200);
    expect(done.deleted.sort()).toEqual([t.id, c.id].sort());
    expect(expectStatus<{ error: { code: string } }>(await f.call("GET", `/api/v1/tenants/${t.id}`), 404).error.code).toBe("TENANT_NOT_FOUND");
  });

  it("refuses a taken slug and an invalid one with their codes", async () => {
    expect(expectStatus<{ error: { code: string } }>(await f.call("POST", "/api/v1/tenants", { name: "X", slug: "tree_root" }), 409).error.code).toBe(
      "SLUG_TAKEN",
    );
    expect(expectStatus<{ error: { code: string } }>(await f.call("POST", "/api/v1/tenants", { name: "X", slug: "Bad-Slug" }), 400).error.code).toBe(
      "INVALID_SLUG",
    );
  });
});

describe("config routes", () => {
  let parent: TenantBody;
  let child: TenantBody;
  beforeAll(async () => {
    parent = expectStatus(await f.call("POST", "/api/v1/tenants", { name: "Cfg Parent" }), 201);
    child = expectStatus(await f.call("POST", "/api/v1/tenants", { name: "Cfg Child", parent_id: parent.id }), 201);
  });

  it("sets a batch with per-key results, lists own entries, diffs two tenants, deletes a key", async () => {
    const batch = expectStatus<{ applied: number; rejected: number; results: Array<{ key: string; ok: boolean }> }>(
      await f.call("PATCH", `/api/v1/tenants/${parent.id}/config`, {
        entries: [
          { key: "plan", value: "pro" },
          { key: "limits", value: { seats: 10 }, locked: true },
        ],
      }),
      200,
    );
    expect(batch).toMatchObject({ applied: 2, rejected: 0 });
    expectStatus(await f.call("PUT", `/api/v1/tenants/${child.id}/config/plan`, { value: "team" }), 200);

    const own = expectStatus<Record<string, { value: unknown; version: number }>>(await f.call("GET", `/api/v1/tenants/${child.id}/config-entries`), 200);
    expect(Object.keys(own)).toEqual(["plan"]);
    expect(own.plan).toMatchObject({ value: "team", version: 1 });

    const diff = expectStatus<{ changed: Record<string, { status: string }>; same: string[] }>(
      await f.call("GET", `/api/v1/tenants/${parent.id}/config-diff/${child.id}`),
      200,
    );
    expect(diff.changed.plan?.status).toBe("different");
    expect(diff.same).toEqual(["limits"]);

    expect((await f.call("DELETE", `/api/v1/tenants/${child.id}/config/plan`)).statusCode).toBe(204);
    expect(expectStatus<{ source_tenant_id: string }>(await f.call("GET", `/api/v1/tenants/${child.id}/config/plan`), 200).source_tenant_id).toBe(parent.id);
    expect(expectStatus<{ error: { code: string } }>(await f.call("GET", `/api/v1/tenants/${child.id}/config/nope`), 404).error.code).toBe("CONFIG_NOT_FOUND");
  });

  it("redacts sensitive values over HTTP", async () => {
    expectStatus(await f.call("PUT", `/api/v1/tenants/${parent.id}/config/api_secret`, { value: "hunter2", sensitive: true }), 200);
    const resolved = expectStatus<Record<string, { value: unknown; redacted?: boolean }>>(await f.call("GET", `/api/v1/tenants/${child.id}/config`), 200);
    expect(resolved.api_secret).toMatchObject({ value: null, redacted: true, sensitive: true });
  });
});
