/** GDPR and consent over HTTP: streamed exports, confirmed purges, subject rights, consents, scopes and subtree limits. */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface TenantBody {
  id: string;
  slug: string;
  parent_id: string | null;
  placement: string | null;
}
interface Created {
  id: string;
  key: string;
}
interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
interface ExportDoc {
  format: string;
  tenant_id: string;
  tenant: { id: string; slug: string };
  stratum: { consents: Array<{ subject_id: string }> };
  sources: Record<string, Record<string, Array<Record<string, unknown>>>>;
  counts: Record<string, number>;
}
interface Consent {
  id: string;
  tenant_id: string;
  subject_id: string;
  purpose: string;
  granted: boolean;
  source: string | null;
  created_at: string;
}

let f: ServerFixture;
// The superuser: the owner role is under FORCE ROW LEVEL SECURITY and would see no tenant rows at all.
let su: pg.Pool;
const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await su.query(sql, params)).rows as T[];
let root: TenantBody;
let a: TenantBody;
let b: TenantBody;

async function tenant(name: string, parent?: string, strategy?: string): Promise<TenantBody> {
  return expectStatus<TenantBody>(
    await f.call("POST", "/api/v1/tenants", { name, ...(parent ? { parent_id: parent } : {}), ...(strategy ? { isolation_strategy: strategy } : {}) }),
    201,
  );
}

async function key(scopes: string[], tenantId?: string): Promise<string> {
  return expectStatus<Created>(
    await f.call("POST", "/api/v1/api-keys", { name: `k-${scopes.join("+")}`, scopes, ...(tenantId ? { tenant_id: tenantId } : {}) }),
    201,
  ).key;
}

/** Two users with one ticket each; returns the user ids. */
async function seed(t: TenantBody): Promise<string[]> {
  const scoped = f.prisma.$tenant(t.id);
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const user = await scoped.user.create({ data: { tenant_id: t.id, email: `u${i}@${t.slug}.test`, name: `User ${i} of ${t.slug}` } });
    await scoped.ticket.create({ data: { tenant_id: t.id, title: `T${i} of ${t.slug}`, author_id: user.id } });
    ids.push(user.id);
  }
  return ids;
}

/** Rows per tenant as the superuser sees them (no RLS): what is really stored in the shared tables. */
async function counts(tenantId: string): Promise<{ users: number; tickets: number; consents: number }> {
  const [row] = await query<{ users: number; tickets: number; consents: number }>(
    `SELECT (SELECT count(*)::int FROM users WHERE tenant_id = $1) AS users,
            (SELECT count(*)::int FROM tickets WHERE tenant_id = $1) AS tickets,
            (SELECT count(*)::int FROM stratum_consents WHERE tenant_id = $1) AS consents`,
    [tenantId],
  );
  return row!;
}

beforeAll(async () => {
  f = await serverFixture("srv_compliance");
  su = new pg.Pool({ connectionString: f.db.adminUrl, max: 2 });
  root = await tenant("Compliance Root");
  a = await tenant("Comp A", root.id);
  b = await tenant("Comp B", root.id);
  await seed(a);
  await seed(b);
});
afterAll(async () => {
  await su?.end();
  await f?.close();
});

describe("GET /tenants/:id/export", () => {
  it("streams one JSON document with the tenant's rows and none of another tenant's", async () => {
    const res = await f.call("GET", `/api/v1/tenants/${a.id}/export`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.headers["content-disposition"]).toBe(`attachment; filename="${a.slug}-export.json"`);
    expect(res.headers["cache-control"]).toBe("no-store");
    // Streamed: the length is not known up front, so none is announced.
    expect(res.headers["content-length"]).toBeUndefined();
    const doc = JSON.parse(res.body) as ExportDoc;
    expect(doc.format).toBe("stratum-prisma/tenant-export@1");
    expect(doc.tenant_id).toBe(a.id);
    expect(doc.tenant.slug).toBe(a.slug);
    const users = doc.sources["shared"]!["users"]!;
    expect(users.map((u) => u["email"]).sort()).toEqual([`u0@${a.slug}.test`, `u1@${a.slug}.test`]);
    expect(doc.sources["shared"]!["tickets"]!.map((t) => t["title"]).sort()).toEqual([`T0 of ${a.slug}`, `T1 of ${a.slug}`]);
    expect(res.body).not.toContain(b.slug);
    expect(res.body).not.toContain(b.id);
  });

  it("answers an unknown tenant with a JSON error, not a cut-off stream", async () => {
    const res = await f.call("GET", `/api/v1/tenants/00000000-0000-4000-8000-000000000000/export`);
    expect(res.statusCode).toBe(404);
    expect(res.json<ErrorBody>().error.code).toBe("TENANT_NOT_FOUND");
  });
});

describe("scopes and subtree limits", () => {
  it("refuses a key of tenant A for sibling B's export, purge, subjects and consents, exactly like an unknown tenant", async () => {
    const aKey = await key(["gdpr:export", "gdpr:erase", "consent:read", "consent:write"], a.id);
    const before = await counts(b.id);
    const attempts: Array<["GET" | "POST" | "DELETE", string, unknown?]> = [
      ["GET", `/api/v1/tenants/${b.id}/export`],
      ["POST", `/api/v1/tenants/${b.id}/purge`, { confirm: b.slug }],
      ["GET", `/api/v1/tenants/${b.id}/subjects/s1/export`],
      ["DELETE", `/api/v1/tenants/${b.id}/subjects/s1`],
      ["GET", `/api/v1/tenants/${b.id}/subjects/s1/consents`],
      ["GET", `/api/v1/tenants/${b.id}/subjects/s1/consents/history`],
      ["POST", `/api/v1/tenants/${b.id}/subjects/s1/consents`, { purpose: "marketing_email", granted: true }],
    ];
    const unknown = "00000000-0000-4000-8000-000000000000";
    for (const [method, url, body] of attempts) {
      const res = await f.call(method, url, body, aKey);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      const message = res.json<ErrorBody>().error.message;
      expect(res.json<ErrorBody>().error.code).toBe("FORBIDDEN");
      // Same answer for an id that does not exist: the key learns nothing about B.
      const probe = await f.call(method, url.replace(b.id, unknown), body, aKey);
      expect(probe.statusCode).toBe(403);
      expect(probe.json<ErrorBody>().error.message).toBe(message.replace(b.id, unknown));
    }
    expect(await counts(b.id)).toEqual(before);
    // The same key works on its own tenant.
    expect((await f.call("GET", `/api/v1/tenants/${a.id}/export`, undefined, aKey)).statusCode).toBe(200);
  });

  it("answers 403 with the missing scope named, and `*` covers the new scopes", async () => {
    const reader = await key(["tenants:read", "consent:read"]);
    const cases: Array<["GET" | "POST" | "DELETE", string, string, unknown?]> = [
      ["GET", `/api/v1/tenants/${a.id}/export`, "gdpr:export"],
      ["GET", `/api/v1/tenants/${a.id}/subjects/s1/export`, "gdpr:export"],
      ["POST", `/api/v1/tenants/${a.id}/purge`, "gdpr:erase", { confirm: a.slug }],
      ["DELETE", `/api/v1/tenants/${a.id}/subjects/s1`, "gdpr:erase"],
      ["POST", `/api/v1/tenants/${a.id}/subjects/s1/consents`, "consent:write", { purpose: "analytics", granted: true }],
    ];
    for (const [method, url, scope, body] of cases) {
      const res = await f.call(method, url, body, reader);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json<ErrorBody>().error).toMatchObject({ code: "FORBIDDEN", details: { required_scope: scope } });
    }
    expect((await f.call("GET", `/api/v1/tenants/${a.id}/subjects/s1/consents`, undefined, reader)).statusCode).toBe(200);
    const exportOnly = await key(["gdpr:export"]);
    const denied = await f.call("GET", `/api/v1/tenants/${a.id}/subjects/s1/consents`, undefined, exportOnly);
    expect(denied.json<ErrorBody>().error.details).toMatchObject({ required_scope: "consent:read" });
    const star = await key(["*"], a.id);
    expect((await f.call("GET", `/api/v1/tenants/${a.id}/export`, undefined, star)).statusCode).toBe(200);
    expectStatus(await f.call("POST", `/api/v1/tenants/${a.id}/subjects/star/consents`, { purpose: "analytics", granted: true }, star), 201);
  });

  it("rejects unknown scope names at key creation, so the new ones are real entries", async () => {
    const res = await f.call("POST", "/api/v1/api-keys", { name: "typo", scopes: ["gdpr:exports"] });
    expect(res.statusCode).toBe(400);
  });
});

describe("POST /tenants/:id/purge", () => {
  it("refuses without the tenant's slug in confirm, and leaves every row", async () => {
    const t = await tenant("Purge Refused", root.id);
    await seed(t);
    const before = await counts(t.id);
    for (const body of [{ confirm: "wrong" }, { confirm: a.slug }, { confirm: t.slug.toUpperCase() }]) {
      const res = await f.call("POST", `/api/v1/tenants/${t.id}/purge`, body);
      expect(res.statusCode).toBe(400);
      expect(res.json<ErrorBody>().error).toMatchObject({ code: "VALIDATION_FAILED", details: { field: "confirm" } });
    }
    const missing = await f.call("POST", `/api/v1/tenants/${t.id}/purge`, {});
    expect(missing.statusCode).toBe(400);
    expect(missing.json<ErrorBody>().error.code).toBe("VALIDATION_FAILED");
    expect(await counts(t.id)).toEqual(before);
    expect(before.users).toBe(2);
    expect(expectStatus<{ status: string }>(await f.call("GET", `/api/v1/tenants/${t.id}`), 200).status).toBe("active");
  });

  it("with the slug removes the tenant's rows, leaves the others' counts, and writes the tombstone under the parent", async () => {
    const t = await tenant("Purge Me", root.id);
    await seed(t);
    expectStatus(await f.call("POST", `/api/v1/tenants/${t.id}/subjects/sub-1/consents`, { purpose: "marketing_email", granted: true }), 201);
    const others = { a: await counts(a.id), b: await counts(b.id) };
    const eraser = await key(["gdpr:erase"], root.id);

    const result = expectStatus<{ tenant_id: string; counts: Record<string, number>; home_removed: string | null }>(
      await f.call("POST", `/api/v1/tenants/${t.id}/purge`, { confirm: t.slug }, eraser),
      200,
    );
    expect(result.tenant_id).toBe(t.id);
    expect(result.counts).toMatchObject({ "shared.users": 2, "shared.tickets": 2, "stratum.consents": 1, "stratum.tenants": 1 });
    expect(result.home_removed).toBeNull();

    expect(await counts(t.id)).toEqual({ users: 0, tickets: 0, consents: 0 });
    expect(await counts(a.id)).toEqual(others.a);
    expect(await counts(b.id)).toEqual(others.b);
    expect((await f.call("GET", `/api/v1/tenants/${t.id}`)).statusCode).toBe(404);

    const [tomb] = await query<{ tenant_id: string; actor: string; after: { purged_tenant_id: string; counts: Record<string, number> } }>(
      `SELECT tenant_id::text, actor, after FROM stratum_audit WHERE action = 'gdpr.purge' AND target_id = $1`,
      [t.id],
    );
    expect(tomb).toBeDefined();
    expect(tomb!.tenant_id).toBe(root.id);
    expect(tomb!.after.purged_tenant_id).toBe(t.id);
    expect(tomb!.after.counts["shared.users"]).toBe(2);
    // The purge was made through a key, so the tombstone names it as the actor.
    expect(tomb!.actor).toMatch(/^api_key:/);
    expect(JSON.stringify(tomb)).not.toContain(t.slug);
  });

  it("drops a SCHEMA tenant's emptied schema, or keeps it with keep_home", async () => {
    const dropped = await tenant("Purge Schema", root.id, "SCHEMA");
    const kept = await tenant("Purge Keep", root.id, "SCHEMA");
    await seed(dropped);
    await seed(kept);
    const gone = expectStatus<{ counts: Record<string, number>; home_removed: string | null }>(
      await f.call("POST", `/api/v1/tenants/${dropped.id}/purge`, { confirm: dropped.slug }),
      200,
    );
    expect(gone.counts[`schema:${dropped.placement}.users`]).toBe(2);
    expect(gone.home_removed).not.toBeNull();
    const held = expectStatus<{ home_removed: string | null }>(
      await f.call("POST", `/api/v1/tenants/${kept.id}/purge`, { confirm: kept.slug, keep_home: true }),
      200,
    );
    expect(held.home_removed).toBeNull();
    const schemas = await query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)`, [[dropped.placement, kept.placement]]);
    expect(schemas.map((s) => s.nspname)).toEqual([kept.placement]);
  });

  it("refuses a tenant with children (409) and purges nothing", async () => {
    const parent = await tenant("Purge Parent", root.id);
    await tenant("Purge Kid", parent.id);
    const res = await f.call("POST", `/api/v1/tenants/${parent.id}/purge`, { confirm: parent.slug });
    expect(res.statusCode).toBe(409);
    expect(res.json<ErrorBody>().error.code).toBe("TENANT_HAS_CHILDREN");
    expect((await f.call("GET", `/api/v1/tenants/${parent.id}`)).statusCode).toBe(200);
  });
});

describe("subject rights", () => {
  it("exports one subject's rows as a streamed attachment, then erases them (keeping consents on request)", async () => {
    const t = await tenant("Subject Tenant", root.id);
    const [alice, bob] = await seed(t);
    expectStatus(await f.call("POST", `/api/v1/tenants/${t.id}/subjects/${alice}/consents`, { purpose: "analytics", granted: true }), 201);
    expectStatus(await f.call("POST", `/api/v1/tenants/${t.id}/subjects/${bob}/consents`, { purpose: "analytics", granted: true }), 201);

    const res = await f.call("GET", `/api/v1/tenants/${t.id}/subjects/${alice}/export`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-disposition"]).toBe(`attachment; filename="${t.slug}-subject-export.json"`);
    expect(res.headers["content-length"]).toBeUndefined();
    expect(res.body).toContain(alice);
    expect(res.body).not.toContain(bob!);
    const doc = JSON.parse(res.body) as Record<string, unknown>;
    expect(doc).toBeTypeOf("object");

    const erased = expectStatus<{ counts: Record<string, number> }>(
      await f.call("DELETE", `/api/v1/tenants/${t.id}/subjects/${alice}?keep_consents=true`),
      200,
    );
    expect(erased.counts["shared.users"]).toBe(1);
    expect(erased.counts["shared.tickets"]).toBe(1);
    const left = await query<{ id: string }>(`SELECT id::text FROM users WHERE tenant_id = $1`, [t.id]);
    expect(left.map((u) => u.id)).toEqual([bob]);
    // keep_consents=true: the proof of consent survives the erasure.
    expect(expectStatus<Consent[]>(await f.call("GET", `/api/v1/tenants/${t.id}/subjects/${alice}/consents`), 200)).toHaveLength(1);

    const second = expectStatus<{ counts: Record<string, number> }>(await f.call("DELETE", `/api/v1/tenants/${t.id}/subjects/${bob}`), 200);
    expect(second.counts["shared.users"]).toBe(1);
    expect(expectStatus<Consent[]>(await f.call("GET", `/api/v1/tenants/${t.id}/subjects/${bob}/consents`), 200)).toEqual([]);
    const audits = await query<{ target_id: string }>(`SELECT target_id FROM stratum_audit WHERE tenant_id = $1 AND action = 'gdpr.subject_erase'`, [t.id]);
    expect(audits).toHaveLength(2);
    expect(audits.map((r) => r.target_id)).not.toContain(alice);
  });

  it("validates keep_consents", async () => {
    const res = await f.call("DELETE", `/api/v1/tenants/${a.id}/subjects/x?keep_consents=yes`);
    expect(res.statusCode).toBe(400);
    expect(res.json<ErrorBody>().error.code).toBe("VALIDATION_FAILED");
  });
});

describe("consents", () => {
  it("grants, withdraws and lists the current state and the history", async () => {
    const url = `/api/v1/tenants/${a.id}/subjects/cust-42/consents`;
    const granted = expectStatus<Consent>(await f.call("POST", url, { purpose: "marketing_email", granted: true, source: "signup_form" }), 201);
    expect(granted).toMatchObject({ tenant_id: a.id, subject_id: "cust-42", purpose: "marketing_email", granted: true, source: "signup_form" });
    expect(granted.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expectStatus(await f.call("POST", url, { purpose: "analytics", granted: true }), 201);
    // The service's ConsentInput shape is accepted too, when its subject matches the path.
    const withdrawn = expectStatus<Consent>(
      await f.call("POST", url, { subject_id: "cust-42", purpose: "marketing_email", granted: false, source: "settings_page" }),
      201,
    );
    expect(withdrawn.granted).toBe(false);

    const current = expectStatus<Consent[]>(await f.call("GET", url), 200);
    expect(current.map((c) => [c.purpose, c.granted])).toEqual([
      ["analytics", true],
      ["marketing_email", false],
    ]);
    const history = expectStatus<Consent[]>(await f.call("GET", `${url}/history?purpose=marketing_email`), 200);
    expect(history.map((c) => [c.granted, c.source])).toEqual([
      [true, "signup_form"],
      [false, "settings_page"],
    ]);
    expect(expectStatus<Consent[]>(await f.call("GET", `${url}/history`), 200)).toHaveLength(3);

    const audits = await query<{ action: string }>(
      `SELECT action FROM stratum_audit WHERE tenant_id = $1 AND target_type = 'consent' AND target_id = ANY($2) ORDER BY id`,
      [a.id, [granted.id, withdrawn.id]],
    );
    expect(audits.map((r) => r.action)).toEqual(["consent.grant", "consent.withdraw"]);
  });

  it("refuses a bad purpose, a mismatched subject_id and unknown fields", async () => {
    const url = `/api/v1/tenants/${a.id}/subjects/cust-43/consents`;
    for (const body of [
      { purpose: "Marketing Email", granted: true },
      { purpose: "analytics", granted: true, subject_id: "someone-else" },
      { purpose: "analytics", granted: true, extra: 1 },
      { purpose: "analytics" },
    ]) {
      const res = await f.call("POST", url, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json<ErrorBody>().error.code).toBe("VALIDATION_FAILED");
    }
    expect(expectStatus<Consent[]>(await f.call("GET", `${url}/history`), 200)).toEqual([]);
  });
});

describe("OpenAPI", () => {
  it("lists the compliance routes with their scopes", async () => {
    const doc = expectStatus<{ paths: Record<string, Record<string, { description?: string }>> }>(await f.call("GET", "/openapi.json", undefined, null), 200);
    const expected: Array<[string, string, string]> = [
      ["/api/v1/tenants/{id}/export", "get", "gdpr:export"],
      ["/api/v1/tenants/{id}/purge", "post", "gdpr:erase"],
      ["/api/v1/tenants/{id}/subjects/{subjectId}/export", "get", "gdpr:export"],
      ["/api/v1/tenants/{id}/subjects/{subjectId}", "delete", "gdpr:erase"],
      ["/api/v1/tenants/{id}/subjects/{subjectId}/consents", "get", "consent:read"],
      ["/api/v1/tenants/{id}/subjects/{subjectId}/consents", "post", "consent:write"],
      ["/api/v1/tenants/{id}/subjects/{subjectId}/consents/history", "get", "consent:read"],
    ];
    for (const [path, method, scope] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op!.description).toContain(`Scope: ${scope}`);
    }
  });
});
