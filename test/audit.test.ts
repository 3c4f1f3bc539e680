import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuditService, currentActor, redact, runWithActor, type AuditService } from "../src/audit/index.js";
import type pg from "pg";
import type { Db } from "../src/core/db.js";
import { isStratumError } from "../src/core/errors.js";
import { createComplianceDb, insertTenant, type ComplianceDb } from "./support/compliance-db.js";

let cdb: ComplianceDb;
let audit: AuditService;
let root: string;
let child: string;
let grandchild: string;
let other: string;

beforeAll(async () => {
  cdb = await createComplianceDb();
  audit = createAuditService(cdb.db);
  root = await insertTenant(cdb.db, "aud_root");
  child = await insertTenant(cdb.db, "aud_child", root);
  grandchild = await insertTenant(cdb.db, "aud_grand", child);
  other = await insertTenant(cdb.db, "aud_other");
});

afterAll(async () => {
  await cdb?.drop();
});

describe("actor context", () => {
  it("defaults to system and follows async calls", async () => {
    expect(currentActor()).toEqual({ id: "system", type: "system" });
    const seen = await runWithActor({ id: "u1", type: "user", requestId: "req-1" }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return currentActor();
    });
    expect(seen).toEqual({ id: "u1", type: "user", requestId: "req-1" });
    expect(currentActor().id).toBe("system");
  });
});

describe("redact", () => {
  it("redacts sensitive keys at any depth and sensitive config values", () => {
    const out = redact({
      name: "x",
      password: "hunter2",
      nested: { apiKey: "k", list: [{ Secret: "s", ok: 1 }] },
      config: { key: "smtp_password", value: "p", sensitive: true },
      plain: { key: "max_users", value: 10, sensitive: false },
    });
    expect(out).toEqual({
      name: "x",
      password: "[REDACTED]",
      nested: { apiKey: "[REDACTED]", list: [{ Secret: "[REDACTED]", ok: 1 }] },
      config: { key: "smtp_password", value: "[REDACTED]", sensitive: true },
      plain: { key: "max_users", value: 10, sensitive: false },
    });
  });
});

describe("audit rows", () => {
  it("commit with the change, with actor, request id and redacted values", async () => {
    await runWithActor({ id: "alice", type: "user", requestId: "r-42" }, () =>
      cdb.db.transaction(async (tx) => {
        await tx.execute(`INSERT INTO stratum_config (tenant_id, key, value) VALUES ($1, 'max_users', '10')`, [root]);
        await audit.record(tx, {
          tenantId: root,
          action: "config.set",
          targetType: "config",
          targetId: "max_users",
          before: null,
          after: { value: 10, token: "t0ps3cret" },
        });
      }),
    );
    const rows = await cdb.db.query<Record<string, unknown>>(`SELECT * FROM stratum_audit WHERE action = 'config.set'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      tenant_id: root,
      actor: "user:alice",
      request_id: "r-42",
      target_id: "max_users",
      after: { value: 10, token: "[REDACTED]" },
    });
  });

  it("roll back with the change", async () => {
    await expect(
      cdb.db.transaction(async (tx) => {
        await tx.execute(`INSERT INTO stratum_config (tenant_id, key, value) VALUES ($1, 'doomed', '1')`, [root]);
        await audit.record(tx, { tenantId: root, action: "config.set", targetId: "doomed" });
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await cdb.db.query(`SELECT 1 FROM stratum_audit WHERE target_id = 'doomed'`)).toHaveLength(0);
    expect(await cdb.db.query(`SELECT 1 FROM stratum_config WHERE key = 'doomed'`)).toHaveLength(0);
  });

  it("refuse a malformed entry", async () => {
    await expect(cdb.db.transaction((tx) => audit.record(tx, { tenantId: "nope", action: "x" }))).rejects.toSatisfy((e) =>
      isStratumError(e, "VALIDATION_FAILED"),
    );
  });
});

describe("listAudit", () => {
  beforeAll(async () => {
    await cdb.db.transaction(async (tx) => {
      for (let i = 0; i < 5; i++) await audit.record(tx, { tenantId: grandchild, action: "tenant.update", targetId: `g${i}` });
      await runWithActor({ id: "bob", type: "api_key" }, () => audit.record(tx, { tenantId: child, action: "permission.grant" }));
      await audit.record(tx, { tenantId: other, action: "tenant.update", targetId: "other" });
    });
  });

  it("shows a tenant its own entries and an ancestor its subtree's", async () => {
    const own = await audit.list(grandchild, { limit: 100 });
    expect(own.entries.map((e) => e.tenant_id).every((t) => t === grandchild)).toBe(true);
    expect(own.entries).toHaveLength(5);

    const fromChild = await audit.list(child, { limit: 100 });
    expect(new Set(fromChild.entries.map((e) => e.tenant_id))).toEqual(new Set([child, grandchild]));

    const fromRoot = await audit.list(root, { limit: 100 });
    expect(fromRoot.entries).toHaveLength(7); // 1 config.set on root + 1 on child + 5 on grandchild
    expect(fromRoot.entries.some((e) => e.tenant_id === other)).toBe(false);

    const fromOther = await audit.list(other, { limit: 100 });
    expect(fromOther.entries.map((e) => e.target_id)).toEqual(["other"]);
  });

  it("pages by id descending with a cursor", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await audit.list(root, { limit: 3, cursor });
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    const numeric = seen.map(Number);
    expect([...numeric].sort((a, b) => b - a)).toEqual(numeric);
    expect(new Set(seen).size).toBe(7);
  });

  it("filters by action, actor and time", async () => {
    expect((await audit.list(root, { action: "permission.*" })).entries).toHaveLength(1);
    const byActor = await audit.list(root, { actor: "bob" });
    expect(byActor.entries).toHaveLength(1);
    expect(byActor.entries[0]!.actor).toEqual({ id: "bob", type: "api_key" });
    expect((await audit.list(root, { actor: "api_key:bob" })).entries).toHaveLength(1);
    expect((await audit.list(root, { since: new Date(Date.now() + 60_000) })).entries).toHaveLength(0);
    expect((await audit.list(root, { until: new Date(Date.now() + 60_000) })).entries).toHaveLength(7);
  });

  it("rejects an unknown tenant", async () => {
    await expect(audit.list("00000000-0000-4000-8000-000000000000")).rejects.toSatisfy((e) => isStratumError(e, "TENANT_NOT_FOUND"));
  });
});

/** A Db on one already-open transaction (the app role's, with its admin scope set). */
function onClient(client: pg.PoolClient): Db {
  const db: Db = {
    query: (sql, params) => client.query(sql, params ? [...params] : undefined).then((r) => r.rows),
    execute: (sql, params) => client.query(sql, params ? [...params] : undefined).then((r) => r.rowCount ?? 0),
    transaction: (fn) => fn(db),
  };
  return db;
}

describe("append-only for the app role", () => {
  it("may insert and read, never update or delete", async () => {
    const pool = cdb.connectApp();
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SELECT set_config('stratum.tenant_id', $1, true)`, [cdb.adminScope]);
      // The service's own INSERT works with the app role's privileges.
      await audit.record(onClient(client), { tenantId: root, action: "tenant.update", targetId: "by-app-role" });
      expect((await client.query(`SELECT actor FROM stratum_audit WHERE target_id = 'by-app-role'`)).rows).toEqual([{ actor: "system:system" }]);
      const read = await client.query(`SELECT count(*)::int AS n FROM stratum_audit`);
      expect(read.rows[0].n).toBeGreaterThan(0);
      await client.query("SAVEPOINT s");
      await expect(client.query(`UPDATE stratum_audit SET action = 'forged.action'`)).rejects.toMatchObject({ code: "42501" });
      await client.query("ROLLBACK TO SAVEPOINT s");
      await expect(client.query(`DELETE FROM stratum_audit`)).rejects.toMatchObject({ code: "42501" });
      await client.query("ROLLBACK TO SAVEPOINT s");
      await expect(client.query(`TRUNCATE stratum_audit`)).rejects.toMatchObject({ code: "42501" });
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
  });
});
