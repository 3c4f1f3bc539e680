/**
 * doctor's checks of the data, on real PostgreSQL: a tenant table without a tenant index, an
 * orphaned tenant, expired and stale API keys, sealed config values without (or with a broken)
 * encryption key. Each case shows doctor silent on a healthy database first, then the finding.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { doctor } from "../src/cli/doctor.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";

const ENCRYPTION_KEY = randomBytes(32).toString("base64");
let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let owner: pg.Client;
const tables = ["users", "tickets"];

beforeAll(async () => {
  db = await createTestDatabase({ label: "doctor_inventory" });
  client = stratumTestClient(db, { encryptionKey: ENCRYPTION_KEY });
  owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
});
afterAll(async () => {
  await owner?.end();
  await client?.close();
  await db?.drop();
});

const run = (options: Parameters<typeof doctor>[2] = {}) => doctor(db.appUrl, tables, { scopeKey: db.scopeKey, encryptionKey: ENCRYPTION_KEY, ...options });

describe("doctor: the data", () => {
  it("is quiet on a healthy database, and says which checks it skipped without the scope key", async () => {
    const s = client.prisma.$stratum;
    const root = await s.createTenant({ name: "Doc Root", slug: "doc_root" });
    await s.createTenant({ name: "Doc Child", slug: "doc_child", parent_id: root.id });
    expect(await run()).toMatchObject({ ok: true, problems: [], warnings: [], skipped: [] });
    const without = await doctor(db.appUrl, tables);
    expect(without.skipped).toEqual([expect.stringContaining("STRATUM_SCOPE_KEY")]);
  });

  it("finds a tenant table whose tenant column leads no index, until one is added", async () => {
    await owner.query(`CREATE TABLE public.doc_notes (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, body text);
                       ALTER TABLE public.doc_notes ENABLE ROW LEVEL SECURITY; ALTER TABLE public.doc_notes FORCE ROW LEVEL SECURITY;`);
    const before = await doctor(db.appUrl, ["doc_notes"], { scopeKey: db.scopeKey });
    expect(before.problems).toEqual([expect.stringContaining("doc_notes (tenant_id)")]);
    await owner.query("CREATE INDEX doc_notes_tenant ON public.doc_notes (tenant_id, id)");
    expect((await doctor(db.appUrl, ["doc_notes"], { scopeKey: db.scopeKey })).problems).toEqual([]);
  });

  it("finds an orphaned tenant (a path no longer under its parent's)", async () => {
    const s = client.prisma.$stratum;
    const parent = await s.createTenant({ name: "Orphan Parent", slug: "orphan_parent" });
    const child = await s.createTenant({ name: "Orphan", slug: "orphan_child", parent_id: parent.id });
    expect((await run()).problems).toEqual([]);
    // What a hand-made UPDATE or a broken restore leaves: the row says one parent, its path another.
    await owner.query(`UPDATE public.stratum_tenants SET path = text2ltree(replace(id::text, '-', '_')) WHERE id = $1`, [child.id]);
    expect((await run()).problems).toEqual([expect.stringContaining("orphan_child")]);
    await owner.query(
      `UPDATE public.stratum_tenants c SET path = p.path || text2ltree(replace(c.id::text, '-', '_')) FROM public.stratum_tenants p WHERE c.id = $1 AND p.id = c.parent_id`,
      [child.id],
    );
  });

  it("warns about expired keys never revoked and keys nobody used for long", async () => {
    const s = client.prisma.$stratum;
    const expired = await s.createApiKey({ name: "expired", scopes: ["tenants:read"], expires_at: new Date(Date.now() + 3_600_000) });
    const stale = await s.createApiKey({ name: "stale", scopes: ["tenants:read"] });
    expect((await run()).warnings).toEqual([]);
    await owner.query(`UPDATE public.stratum_api_keys SET expires_at = now() - interval '1 day' WHERE id = $1`, [expired.id]);
    await owner.query(`UPDATE public.stratum_api_keys SET created_at = now() - interval '200 days' WHERE id = $1`, [stale.id]);
    const report = await run();
    expect(report.warnings).toEqual([expect.stringContaining("1 API key(s) expired"), expect.stringContaining("unused for more than 90 days")]);
    expect(report.ok).toBe(true);
    await s.revokeApiKey(expired.id);
    await s.revokeApiKey(stale.id);
  });

  it("refuses sealed config values without an encryption key, and a key that is not 32 bytes", async () => {
    const s = client.prisma.$stratum;
    const tenant = await s.createTenant({ name: "Sealed", slug: "doc_sealed" });
    expect((await run({ encryptionKey: undefined })).problems).toEqual([]);
    await s.setConfig(tenant.id, "smtp_password", { value: "hunter2", sensitive: true });
    expect((await doctor(db.appUrl, tables, { scopeKey: db.scopeKey })).problems).toEqual([
      expect.stringContaining("1 sensitive config value(s) are encrypted"),
    ]);
    expect((await run({ encryptionKey: randomBytes(16).toString("base64") })).problems).toEqual([expect.stringContaining("AES-256 needs 32")]);
    expect((await run()).problems).toEqual([]);
  });

  it("says so when the scope key is not the database's", async () => {
    const report = await run({ scopeKey: randomBytes(32).toString("hex") });
    expect(report.problems).toEqual([expect.stringContaining("scope key does not match")]);
  });
});
