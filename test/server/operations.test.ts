/** The operator's maintenance runs over HTTP: retention, encryption-key rotation, the tenant-home fan-out, each behind its own scope. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stratum as sdk } from "../../src/sdk/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

let f: ServerFixture;
let tenant: string;
const api = "/api/v1";
const key = async (scopes: string[], tenant_id?: string) =>
  expectStatus<{ key: string }>(await f.call("POST", `${api}/api-keys`, { name: scopes.join(","), scopes, ...(tenant_id ? { tenant_id } : {}) }), 201).key;

beforeAll(async () => {
  f = await serverFixture("srv_ops");
  tenant = expectStatus<{ id: string }>(await f.call("POST", `${api}/tenants`, { name: "Ops Tenant" }), 201).id;
});
afterAll(async () => {
  await f?.close();
});

describe("POST /ops/retention", () => {
  it("deletes a tenant's rows older than the policy's days and keeps the rest; audited", async () => {
    const scoped = f.prisma.$tenant(tenant);
    const author = await scoped.user.create({ data: { tenant_id: tenant, email: "ops@example.test" } });
    await scoped.ticket.create({ data: { tenant_id: tenant, title: "old", author_id: author.id, created_at: new Date(Date.now() - 40 * 86_400_000) } });
    await scoped.ticket.create({ data: { tenant_id: tenant, title: "new", author_id: author.id } });
    const res = expectStatus<{ results: Array<{ table: string; tenant_id: string | null; deleted: number }> }>(
      await f.call(
        "POST",
        `${api}/ops/retention`,
        { policies: [{ table: "tickets", timestamp_column: "created_at", days: 30, tenant_id: tenant }] },
        await key(["ops:retention"]),
      ),
      200,
    );
    expect(res.results).toEqual([{ table: "tickets", tenant_id: tenant, deleted: 1 }]);
    expect((await scoped.ticket.findMany()).map((t) => t.title)).toEqual(["new"]);
    const audit = await f.ownerQuery(`SELECT 1 FROM stratum_audit WHERE action = 'gdpr.retention' AND tenant_id = $1`, [tenant]);
    expect(audit).toHaveLength(1);
  });

  it("refuses a key without ops:retention, a tenant key, and a table name that is not an identifier", async () => {
    const body = { policies: [{ table: "tickets", timestamp_column: "created_at", days: 30 }] };
    expect((await f.call("POST", `${api}/ops/retention`, body, await key(["ops:keys"]))).statusCode).toBe(403);
    expect((await f.call("POST", `${api}/ops/retention`, body, await key(["ops:retention"], tenant))).statusCode).toBe(403);
    const bad = await f.call("POST", `${api}/ops/retention`, {
      policies: [{ table: 'tickets"; drop table users; --', timestamp_column: "created_at", days: 1 }],
    });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, "VALIDATION_FAILED"]);
  });
});

describe("POST /ops/encryption-key/rotate", () => {
  it("re-seals every value under the current key and says what remains; needs ops:keys", async () => {
    expect((await f.call("POST", `${api}/ops/encryption-key/rotate`, {}, await key(["ops:retention"]))).statusCode).toBe(403);
    const res = expectStatus<{ version: number; aborted: boolean; remaining: number; failed: unknown[] }>(
      await f.call("POST", `${api}/ops/encryption-key/rotate`, { batch_size: 50 }, await key(["ops:keys"])),
      200,
    );
    expect(res).toMatchObject({ aborted: false, remaining: 0, failed: [] });
    expect(res.version).toBeGreaterThan(0);
  });
});

describe("POST /ops/tenant-homes/migrate", () => {
  it("plans the fan-out in a dry run, in snake_case; needs ops:migrate", async () => {
    expect((await f.call("POST", `${api}/ops/tenant-homes/migrate`, { dry_run: true }, await key(["ops:keys"]))).statusCode).toBe(403);
    const res = expectStatus<{ ok: boolean; dry_run: boolean; homes: unknown[]; summary: { total: number } }>(
      await f.call("POST", `${api}/ops/tenant-homes/migrate`, { dry_run: true }, await key(["ops:migrate"])),
      200,
    );
    expect(res).toMatchObject({ ok: true, dry_run: true, homes: [] });
    expect(res.summary.total).toBe(0);
  });
});

describe("s.ops in the SDK", () => {
  it("runs the three against the running server", async () => {
    const app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP });
    try {
      const s = sdk({ controlPlaneUrl: await app.listen({ port: 0, host: "127.0.0.1" }), apiKey: BOOTSTRAP, retries: 0 });
      expect(await s.ops.runRetention([{ table: "tickets", timestamp_column: "created_at", days: 3650, tenant_id: tenant }])).toEqual({
        results: [{ table: "tickets", tenant_id: tenant, deleted: 0 }],
      });
      expect((await s.ops.rotateEncryptionKey()).remaining).toBe(0);
      expect((await s.ops.migrateTenantHomes({ dry_run: true })).dry_run).toBe(true);
    } finally {
      await app.close();
    }
  });
});
