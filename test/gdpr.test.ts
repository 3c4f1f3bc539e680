import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { isStratumError } from "../src/core/errors.js";
import type { Db } from "../src/core/db.js";
import { configCipherContext, createFieldCipher, createKeyring } from "../src/crypto/index.js";
import {
  collectExport,
  createGdprService,
  runRetention,
  scheduleRetention,
  subjectHash,
  type GdprService,
  type RetentionResult,
  type TenantDataSource,
} from "../src/gdpr/index.js";
import { createComplianceDb, insertTenant, type ComplianceDb } from "./support/compliance-db.js";
import { sqlTenantSource } from "./support/compliance-source.js";

const cipher = createFieldCipher(createKeyring({ keys: { v1: randomBytes(32).toString("base64") } }));
const TABLES = ["users", "tickets"];

let main: ComplianceDb;
const tenantDbs = new Map<string, ComplianceDb>();
const tenants: Record<string, string> = {};
const sources = new Map<string, TenantDataSource[]>();
let gdpr: GdprService;

async function seedAppRows(db: Db, tenantId: string, users: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < users; i++) {
    const [u] = await db.query<{ id: string }>(`INSERT INTO users (tenant_id, email, name) VALUES ($1, $2, $3) RETURNING id`, [
      tenantId,
      `user${i}@example.com`,
      `Person ${i}`,
    ]);
    ids.push(u!.id);
    for (let t = 0; t < 2; t++) {
      await db.execute(`INSERT INTO tickets (tenant_id, title, author_id) VALUES ($1, $2, $3)`, [tenantId, `ticket ${i}.${t}`, u!.id]);
    }
  }
  return ids;
}

async function seedStratumRows(tenantId: string): Promise<void> {
  const db = main.db;
  await db.execute(`INSERT INTO stratum_config (tenant_id, key, value) VALUES ($1, 'max_users', '10'), ($1, 'theme', '"dark"')`, [tenantId]);
  const id = randomUUID();
  const sealed = cipher.encrypt(JSON.stringify(`smtp-pass-${tenantId}`), configCipherContext(tenantId, id));
  await db.execute(`INSERT INTO stratum_config (id, tenant_id, key, sensitive, encrypted_value) VALUES ($1, $2, 'smtp_password', true, $3)`, [
    id,
    tenantId,
    sealed,
  ]);
  await db.execute(`INSERT INTO stratum_permissions (tenant_id, key, value, mode) VALUES ($1, 'can_export', 'true', 'INHERITED')`, [tenantId]);
  await db.execute(`INSERT INTO stratum_consents (tenant_id, subject_id, purpose, granted) VALUES ($1, 'subj', 'marketing', true)`, [tenantId]);
  await db.execute(`INSERT INTO stratum_api_keys (tenant_id, name, key_hash, scopes) VALUES ($1, 'ci', $2, '{read}')`, [tenantId, `hash-${tenantId}`]);
  const [hook] = await db.query<{ id: string }>(
    `INSERT INTO stratum_webhooks (tenant_id, url, secret, events) VALUES ($1, 'https://example.com/h', 'whsec_x', '{tenant.updated}') RETURNING id`,
    [tenantId],
  );
  await db.execute(`INSERT INTO stratum_deliveries (webhook_id, event, payload) VALUES ($1, 'tenant.updated', '{}')`, [hook!.id]);
}

/** Every tenant's row count in every place it has rows. */
async function snapshot(): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [label, id] of Object.entries(tenants)) {
    const counts: Record<string, number> = {};
    for (const source of sources.get(id) ?? []) {
      for (const [table, n] of Object.entries(await source.counts())) counts[`${source.name}.${table}`] = n;
    }
    const [s] = await main.db.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM stratum_tenants WHERE id = $1) AS tenant,
              (SELECT count(*)::int FROM stratum_config WHERE tenant_id = $1) AS config,
              (SELECT count(*)::int FROM stratum_permissions WHERE tenant_id = $1) AS permissions,
              (SELECT count(*)::int FROM stratum_consents WHERE tenant_id = $1) AS consents,
              (SELECT count(*)::int FROM stratum_api_keys WHERE tenant_id = $1) AS api_keys,
              (SELECT count(*)::int FROM stratum_webhooks WHERE tenant_id = $1) AS webhooks,
              (SELECT count(*)::int FROM stratum_deliveries d JOIN stratum_webhooks w ON w.id = d.webhook_id WHERE w.tenant_id = $1) AS deliveries`,
      [id],
    );
    for (const [k, n] of Object.entries(s!)) counts[`stratum.${k}`] = n;
    out[label] = counts;
  }
  return out;
}

beforeAll(async () => {
  main = await createComplianceDb();
  tenants.root = await insertTenant(main.db, "gd_root");
  tenants.shared_a = await insertTenant(main.db, "gd_shared_a", tenants.root);
  tenants.shared_d = await insertTenant(main.db, "gd_shared_d", tenants.root);
  tenants.schema_b = await insertTenant(main.db, "gd_schema_b", null, "SCHEMA");
  tenants.schema_f = await insertTenant(main.db, "gd_schema_f", null, "SCHEMA");
  tenants.db_c = await insertTenant(main.db, "gd_db_c", null, "DATABASE");
  tenants.db_g = await insertTenant(main.db, "gd_db_g", null, "DATABASE");

  for (const label of ["root", "shared_a", "shared_d"]) {
    const id = tenants[label]!;
    await seedAppRows(main.db, id, label === "shared_a" ? 7 : 3);
    sources.set(id, [sqlTenantSource({ name: "shared", db: main.db, tenantId: id, tables: TABLES, tenantColumn: "tenant_id" })]);
  }
  for (const label of ["schema_b", "schema_f"]) {
    const id = tenants[label]!;
    const schema = `tenant_${label}`;
    await main.pool.query(`CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.users (LIKE public.users INCLUDING ALL);
      CREATE TABLE ${schema}.tickets (LIKE public.tickets INCLUDING ALL);
      ALTER TABLE ${schema}.tickets ADD FOREIGN KEY (tenant_id, author_id) REFERENCES ${schema}.users(tenant_id, id);`);
    const db: Db = {
      query: (sql, p) => main.db.transaction(async (tx) => (await tx.execute(`SET LOCAL search_path = ${schema}`), tx.query(sql, p))),
      execute: (sql, p) => main.db.transaction(async (tx) => (await tx.execute(`SET LOCAL search_path = ${schema}`), tx.execute(sql, p))),
      transaction: (fn) => main.db.transaction(async (tx) => (await tx.execute(`SET LOCAL search_path = ${schema}`), fn(tx))),
    };
    await seedAppRows(db, id, 4);
    sources.set(id, [sqlTenantSource({ name: `schema:${schema}`, db: main.db, tenantId: id, tables: TABLES, schema })]);
  }
  for (const label of ["db_c", "db_g"]) {
    const id = tenants[label]!;
    const tdb = await createComplianceDb();
    tenantDbs.set(id, tdb);
    await seedAppRows(tdb.db, id, 5);
    sources.set(id, [sqlTenantSource({ name: `database:${tdb.name}`, db: tdb.db, tenantId: id, tables: TABLES })]);
  }
  for (const id of Object.values(tenants)) await seedStratumRows(id);
  gdpr = createGdprService(main.db, (id) => sources.get(id) ?? [], {
    cipher,
    subjectTargets: [
      { table: "users", subjectColumn: "id" },
      { table: "tickets", subjectColumn: "author_id" },
    ],
  });
}, 60_000);

afterAll(async () => {
  for (const tdb of tenantDbs.values()) await tdb.drop();
  await main?.drop();
});

describe("exportTenantData", () => {
  it("streams every row the tenant owns, config and permissions included", async () => {
    const chunks: string[] = [];
    for await (const chunk of gdpr.exportTenantData(tenants.shared_a!, { batchSize: 3 })) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(10);
    const doc = JSON.parse(chunks.join(""));
    expect(doc.format).toBe("stratum-prisma/tenant-export@1");
    expect(doc.tenant.slug).toBe("gd_shared_a");
    expect(doc.sources.shared.users).toHaveLength(7);
    expect(doc.sources.shared.tickets).toHaveLength(14);
    expect(doc.sources.shared.users.every((u: { tenant_id: string }) => u.tenant_id === tenants.shared_a)).toBe(true);
    expect(doc.stratum.config.map((c: { key: string }) => c.key)).toEqual(["max_users", "smtp_password", "theme"]);
    expect(doc.stratum.config[1].value).toBe(`smtp-pass-${tenants.shared_a}`);
    expect(doc.stratum.config[1].encrypted_value).toBeUndefined();
    expect(doc.stratum.permissions).toHaveLength(1);
    expect(doc.stratum.consents).toHaveLength(1);
    expect(doc.stratum.api_keys[0].key_hash).toBeUndefined();
    expect(doc.stratum.webhooks[0].secret).toBeUndefined();
    expect(doc.stratum.deliveries).toHaveLength(1);
    expect(doc.counts).toMatchObject({ "shared.users": 7, "shared.tickets": 14, "stratum.config": 3 });
  });

  it("exports tenants on the SCHEMA and DATABASE strategies from their own places", async () => {
    for (const label of ["schema_b", "db_c"]) {
      const doc = JSON.parse(await collectExport(gdpr.exportTenantData(tenants[label]!)));
      const [name] = Object.keys(doc.sources);
      expect(doc.sources[name!].users).toHaveLength(label === "schema_b" ? 4 : 5);
      expect(doc.sources[name!].tickets).toHaveLength(label === "schema_b" ? 8 : 10);
    }
  });

  it("rejects an unknown tenant", async () => {
    await expect(collectExport(gdpr.exportTenantData(randomUUID()))).rejects.toSatisfy((e) => isStratumError(e, "TENANT_NOT_FOUND"));
  });
});

describe("purgeTenant", () => {
  it("refuses a tenant with children", async () => {
    await expect(gdpr.purgeTenant(tenants.root!)).rejects.toSatisfy((e) => isStratumError(e, "TENANT_HAS_CHILDREN"));
  });

  for (const label of ["shared_a", "schema_b", "db_c"]) {
    it(`export then purge of ${label} zeroes it and leaves every other tenant's counts unchanged`, async () => {
      const id = tenants[label]!;
      const before = await snapshot();
      const exported = JSON.parse(await collectExport(gdpr.exportTenantData(id)));
      const exportedRows = Object.values(exported.sources as Record<string, Record<string, unknown[]>>)
        .flatMap((tables) => Object.values(tables))
        .reduce((n, rows) => n + rows.length, 0);
      const ownRows = Object.entries(before[label]!)
        .filter(([k]) => !k.startsWith("stratum."))
        .reduce((n, [, v]) => n + v, 0);
      expect(exportedRows).toBe(ownRows);

      const result = await gdpr.purgeTenant(id);
      const after = await snapshot();
      for (const other of Object.keys(tenants)) {
        if (other === label) continue;
        expect(after[other], other).toEqual(before[other]);
      }
      expect(
        Object.values(after[label]!).every((n) => n === 0),
        JSON.stringify(after[label]),
      ).toBe(true);
      expect(result.counts).toMatchObject({ "stratum.config": 3, "stratum.tenants": 1 });

      const [tomb] = await main.db.query<{ tenant_id: string | null; target_id: string; after: Record<string, unknown> }>(
        `SELECT tenant_id, target_id, after FROM stratum_audit WHERE action = 'gdpr.purge' AND target_id = $1`,
        [id],
      );
      expect(tomb!.tenant_id).toBe(label === "shared_a" ? tenants.root : null);
      expect(tomb!.after["counts"]).toEqual(result.counts);
      expect(JSON.stringify(tomb!.after)).not.toMatch(/gd_|Person|example\.com|Tenant /);
    });
  }
});

describe("subject-level", () => {
  it("exports and erases one subject's rows and consents only", async () => {
    const d = tenants.shared_d!;
    const [victim, bystander] = await main.db.query<{ id: string }>(`SELECT id FROM users WHERE tenant_id = $1 ORDER BY email LIMIT 2`, [d]);
    await main.db.execute(`INSERT INTO stratum_consents (tenant_id, subject_id, purpose, granted) VALUES ($1, $2, 'analytics', true)`, [d, victim!.id]);

    const doc = JSON.parse(await collectExport(gdpr.exportSubjectData(d, victim!.id)));
    expect(doc.sources.shared.users).toHaveLength(1);
    expect(doc.sources.shared.tickets).toHaveLength(2);
    expect(doc.consents).toHaveLength(1);

    const before = await snapshot();
    const { counts } = await gdpr.eraseSubject(d, victim!.id);
    expect(counts).toEqual({ "shared.tickets": 2, "shared.users": 1, "stratum.consents": 1 });
    const after = await snapshot();
    expect(after.shared_d!["shared.users"]).toBe(before.shared_d!["shared.users"]! - 1);
    expect(after.shared_d!["shared.tickets"]).toBe(before.shared_d!["shared.tickets"]! - 2);
    for (const other of Object.keys(tenants)) if (other !== "shared_d") expect(after[other]).toEqual(before[other]);
    expect(await main.db.query(`SELECT 1 FROM users WHERE id = $1`, [bystander!.id])).toHaveLength(1);
    const [audit] = await main.db.query<{ target_id: string }>(`SELECT target_id FROM stratum_audit WHERE action = 'gdpr.subject_erase'`);
    expect(audit!.target_id).toBe(subjectHash(d, victim!.id));
  });
});

describe("retention", () => {
  beforeAll(async () => {
    await main.pool.query(`CREATE TABLE events (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, created_at timestamptz NOT NULL)`);
    for (const t of [tenants.root, tenants.shared_d]) {
      await main.db.execute(
        `INSERT INTO events (tenant_id, created_at)
         SELECT $1, now() - make_interval(days => g) FROM generate_series(0, 59) g`,
        [t],
      );
    }
  });

  it("purges rows older than N days, in batches, per tenant when asked", async () => {
    const [r1] = await runRetention(main.db, [{ table: "events", timestampColumn: "created_at", days: 45.5, tenantId: tenants.root!, batchSize: 4 }]);
    expect(r1!.deleted).toBe(14); // days 46..59
    const [r2] = await runRetention(main.db, [{ table: "events", timestampColumn: "created_at", days: 30.5 }]);
    expect(r2!.deleted).toBe(15 + 29); // root: days 31..45; shared_d: days 31..59
    const [n] = await main.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events`);
    expect(n!.n).toBe(62);
  });

  it("runs on a schedule until stopped", async () => {
    // Only the interval is faked (pg keeps its real timers): "until stopped" is then checked by
    // moving the clock, not by waiting past an interval.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const results: RetentionResult[][] = [];
    const first = new Promise<void>((resolve) => {
      const scheduler = scheduleRetention(main.db, [{ table: "events", timestampColumn: "created_at", days: 10.5 }], {
        intervalMs: 1000,
        onResult: (r) => {
          results.push(r);
          void scheduler.stop().then(resolve);
        },
      });
    });
    await first;
    expect(results[0]![0]!.deleted).toBe(40);
    expect(vi.getTimerCount()).toBe(0); // stop() cleared the interval
    vi.advanceTimersByTime(10_000);
    await new Promise((r) => setImmediate(r));
    expect(results).toHaveLength(1);
  });

  it("refuses unsafe identifiers", async () => {
    await expect(runRetention(main.db, [{ table: "events; drop table users", timestampColumn: "created_at", days: 1 }])).rejects.toSatisfy((e) =>
      isStratumError(e, "VALIDATION_FAILED"),
    );
  });
});
