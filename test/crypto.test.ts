import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StratumModel } from "../src/core/models.js";
import { createAuditService } from "../src/audit/index.js";
import { createConfigService } from "../src/config/index.js";
import {
  CONFIG_ROTATION_TARGET,
  configCipherContext,
  createFieldCipher,
  createKeyring,
  decryptFields,
  encryptFields,
  keyringFromEnv,
  rotateKeys,
  rotationTargetsFromModels,
  type RotationProgress,
} from "../src/crypto/index.js";
import { createComplianceDb, insertTenant, type ComplianceDb } from "./support/compliance-db.js";

const k1 = randomBytes(32).toString("base64");
const k2 = randomBytes(32).toString("base64");

const ctx = { tenantId: randomUUID(), table: "users", column: "ssn", rowId: randomUUID() };

describe("keyring", () => {
  it("takes versions as numbers or v-labels, current defaults to the highest", () => {
    const ring = createKeyring({ keys: { v1: k1, 2: k2 } });
    expect(ring.current).toBe(2);
    expect(ring.versions).toEqual([1, 2]);
    expect(createKeyring({ keys: { v1: k1, v2: k2 }, current: "v1" }).current).toBe(1);
    expect(String(ring)).toBe("[Keyring v1,v2 current=v2]");
    expect(JSON.stringify({ ring })).not.toContain(k1);
  });

  it("refuses short keys and unknown current", () => {
    expect(() => createKeyring({ keys: { v1: randomBytes(16).toString("base64") } })).toThrow(/32/);
    expect(() => createKeyring({ keys: { v1: k1 }, current: 3 })).toThrow(expect.objectContaining({ code: "KEY_NOT_FOUND" }));
  });

  it("reads the environment", () => {
    expect(keyringFromEnv({})).toBeNull();
    expect(keyringFromEnv({ STRATUM_ENCRYPTION_KEY: k1 })?.versions).toEqual([1]);
    const ring = keyringFromEnv({ STRATUM_ENCRYPTION_KEYS: `v1:${k1}, v2:${k2}` });
    expect(ring?.current).toBe(2);
  });
});

describe("field cipher", () => {
  const cipher = createFieldCipher(createKeyring({ keys: { v1: k1 } }));

  it("round-trips with a fresh nonce per value, in the documented format", () => {
    const a = cipher.encrypt("123-45-6789", ctx);
    const b = cipher.encrypt("123-45-6789", ctx);
    expect(a).toMatch(/^stratum:v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/]+=*$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("123-45-6789");
    expect(cipher.decrypt(a, ctx)).toBe("123-45-6789");
    expect(cipher.decrypt(cipher.encrypt("", ctx), ctx)).toBe("");
    expect(cipher.decrypt(cipher.encrypt("ünïcødé ✓", ctx), ctx)).toBe("ünïcødé ✓");
  });

  it("fails a ciphertext moved to another row, tenant, table or column", () => {
    const sealed = cipher.encrypt("secret", ctx);
    for (const moved of [
      { ...ctx, rowId: randomUUID() },
      { ...ctx, tenantId: randomUUID() },
      { ...ctx, table: "tickets" },
      { ...ctx, column: "email" },
    ]) {
      expect(() => cipher.decrypt(sealed, moved)).toThrow(expect.objectContaining({ code: "DECRYPTION_FAILED" }));
    }
  });

  it("fails tampered and malformed values, and unknown versions with KEY_NOT_FOUND", () => {
    const sealed = cipher.encrypt("secret", ctx);
    const parts = sealed.split(":");
    const body = Buffer.from(parts[3]!, "base64");
    body[0] = body[0]! ^ 1;
    const tampered = [...parts.slice(0, 3), body.toString("base64")].join(":");
    expect(() => cipher.decrypt(tampered, ctx)).toThrow(expect.objectContaining({ code: "DECRYPTION_FAILED" }));
    expect(() => cipher.decrypt("not sealed", ctx)).toThrow(expect.objectContaining({ code: "DECRYPTION_FAILED" }));
    expect(() => cipher.decrypt(sealed.replace("stratum:v1:", "stratum:v7:"), ctx)).toThrow(expect.objectContaining({ code: "KEY_NOT_FOUND" }));
    const otherKey = createFieldCipher(createKeyring({ keys: { v1: k2 } }));
    expect(() => otherKey.decrypt(sealed, ctx)).toThrow(expect.objectContaining({ code: "DECRYPTION_FAILED" }));
  });
});

const userModel: StratumModel = {
  name: "User",
  table: "users",
  scope: "tenant",
  tenantField: "tenantId",
  tenantColumn: "tenant_id",
  primaryKey: ["id"],
  uniques: [],
  audited: false,
  encryptedFields: ["name"],
  fields: [
    { name: "id", column: "id", type: "String", isList: false, isRequired: true, isId: true, hasDefault: true, kind: "scalar" },
    { name: "tenantId", column: "tenant_id", type: "String", isList: false, isRequired: true, isId: false, hasDefault: false, kind: "scalar" },
    { name: "email", column: "email", type: "String", isList: false, isRequired: true, isId: false, hasDefault: false, kind: "scalar" },
    { name: "name", column: "name", type: "String", isList: false, isRequired: false, isId: false, hasDefault: false, kind: "scalar", encrypted: true },
  ],
};

describe("encryptFields / decryptFields", () => {
  const cipher = createFieldCipher(createKeyring({ keys: { v1: k1 } }));
  const tenantId = randomUUID();

  it("generates the id on create and binds the ciphertext to it", () => {
    const data = encryptFields(userModel, { tenantId, email: "a@x", name: "Alice" }, { cipher, tenantId });
    expect(typeof data.id).toBe("string");
    expect(data.name).toMatch(/^stratum:v1:/);
    expect(data.email).toBe("a@x");
    expect(cipher.decrypt(data.name as string, { tenantId, table: "users", column: "name", rowId: data.id as string })).toBe("Alice");
    expect(decryptFields(userModel, data, { cipher })).toMatchObject({ name: "Alice" });
  });

  it("uses the update's row id, handles { set } and null, refuses updates without an id", () => {
    const id = randomUUID();
    const upd = encryptFields(userModel, { name: { set: "Bob" } }, { cipher, tenantId, rowId: id, operation: "update" });
    const sealed = (upd.name as { set: string }).set;
    expect(decryptFields(userModel, { id, tenantId, name: sealed }, { cipher })).toMatchObject({ name: "Bob" });
    expect(encryptFields(userModel, { name: null }, { cipher, tenantId, rowId: id, operation: "update" })).toEqual({ name: null });
    expect(() => encryptFields(userModel, { name: "x" }, { cipher, tenantId, operation: "update" })).toThrow(
      expect.objectContaining({ code: "ENCRYPTION_FAILED" }),
    );
  });

  it("refuses a row of another tenant than the scope, and a row swapped between ids", () => {
    expect(() => encryptFields(userModel, { tenantId: randomUUID(), name: "x" }, { cipher, tenantId })).toThrow(
      expect.objectContaining({ code: "TENANT_SCOPE_VIOLATION" }),
    );
    const a = encryptFields(userModel, { tenantId, email: "a", name: "A" }, { cipher, tenantId });
    const b = encryptFields(userModel, { tenantId, email: "b", name: "B" }, { cipher, tenantId });
    expect(() => decryptFields(userModel, { ...b, name: a.name }, { cipher })).toThrow(expect.objectContaining({ code: "DECRYPTION_FAILED" }));
  });

  it("leaves rows without encrypted values alone and needs the id to decrypt", () => {
    const row = { id: "x", email: "e" };
    expect(decryptFields(userModel, row, { cipher })).toBe(row);
    expect(() => decryptFields(userModel, { tenantId, name: "stratum:v1:xx" }, { cipher })).toThrow(expect.objectContaining({ code: "DECRYPTION_FAILED" }));
  });
});

describe("on PostgreSQL", () => {
  let cdb: ComplianceDb;
  let t1: string;
  let t2: string;
  const ring1 = createKeyring({ keys: { v1: k1 } });
  const ring2 = createKeyring({ keys: { v1: k1, v2: k2 } });
  const c1 = createFieldCipher(ring1);
  const c2 = createFieldCipher(ring2);
  const N = 57;

  beforeAll(async () => {
    cdb = await createComplianceDb();
    t1 = await insertTenant(cdb.db, "cr_one");
    t2 = await insertTenant(cdb.db, "cr_two");
    for (const [tenant, n] of [
      [t1, N],
      [t2, 5],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const id = randomUUID();
        await cdb.db.execute(`INSERT INTO stratum_config (id, tenant_id, key, sensitive, encrypted_value) VALUES ($1, $2, $3, true, $4)`, [
          id,
          tenant,
          `secret_${i}`,
          c1.encrypt(JSON.stringify(`value-${tenant}-${i}`), configCipherContext(tenant, id)),
        ]);
        const data = encryptFields(userModel, { tenantId: tenant, email: `u${i}@x`, name: `Name ${i}` }, { cipher: c1, tenantId: tenant });
        await cdb.db.execute(`INSERT INTO users (id, tenant_id, email, name) VALUES ($1, $2, $3, $4)`, [data.id, tenant, data.email, data.name]);
      }
    }
  });

  afterAll(async () => {
    await cdb?.drop();
  });

  it("a ciphertext swapped between rows or tenants in the database fails", async () => {
    type Row = { id: string; tenant_id: string; encrypted_value: string };
    const pick = (tenant: string) =>
      cdb.db.query<Row>(`SELECT id, tenant_id, encrypted_value FROM stratum_config WHERE tenant_id = $1 ORDER BY key LIMIT 1`, [tenant]);
    const [a] = await pick(t1);
    const [b] = await pick(t2);
    // b's ciphertext read as if it were a's (copied across tenants): refused.
    expect(() => c1.decrypt(b!.encrypted_value, configCipherContext(a!.tenant_id, a!.id))).toThrow(expect.objectContaining({ code: "DECRYPTION_FAILED" }));
    const rows = await cdb.db.query<Record<string, unknown>>(
      `SELECT id, tenant_id AS "tenantId", name FROM users WHERE tenant_id = $1 ORDER BY email LIMIT 2`,
      [t1],
    );
    expect(() => decryptFields(userModel, { ...rows[0]!, name: rows[1]!.name }, { cipher: c1 })).toThrow(
      expect.objectContaining({ code: "DECRYPTION_FAILED" }),
    );
  });

  it("rotation re-encrypts everything under the newest key, in batches, resumably, with progress", async () => {
    const targets = [CONFIG_ROTATION_TARGET, ...rotationTargetsFromModels({ models: { User: userModel } })];
    expect(targets[1]).toEqual({ table: "users", idColumn: "id", tenantColumn: "tenant_id", columns: ["name"] });

    // First run: aborted after two batches, then resumed by running again.
    const controller = new AbortController();
    const progress: RotationProgress[] = [];
    const first = await rotateKeys(cdb.db, {
      cipher: c2,
      targets,
      batchSize: 10,
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        if (progress.length === 2) controller.abort();
      },
    });
    expect(first.aborted).toBe(true);
    expect(first.targets[0]).toMatchObject({ table: "stratum_config", rotated: 20, remaining: N + 5 - 20 });
    expect(progress[1]).toMatchObject({ table: "stratum_config", scanned: 20, rotated: 20, total: N + 5 });

    const second = await rotateKeys(cdb.db, { cipher: c2, targets, batchSize: 10, onProgress: (p) => progress.push(p) });
    expect(second.aborted).toBe(false);
    expect(second.targets.map((t) => [t.table, t.rotated, t.remaining, t.failed.length])).toEqual([
      ["stratum_config", N + 5 - 20, 0, 0],
      ["users", N + 5, 0, 0],
    ]);

    // Everything is on v2 and readable; v1 is no longer needed.
    const onlyV2 = createFieldCipher(createKeyring({ keys: { v2: k2 } }));
    const config = await cdb.db.query<{ id: string; tenant_id: string; key: string; encrypted_value: string }>(
      `SELECT id, tenant_id, key, encrypted_value FROM stratum_config`,
    );
    expect(config).toHaveLength(N + 5);
    for (const row of config) {
      expect(row.encrypted_value.startsWith("stratum:v2:")).toBe(true);
      const plain = onlyV2.decrypt(row.encrypted_value, configCipherContext(row.tenant_id, row.id));
      expect(JSON.parse(plain)).toBe(`value-${row.tenant_id}-${row.key.slice("secret_".length)}`);
    }
    const users = await cdb.db.query<Record<string, unknown>>(`SELECT id, tenant_id AS "tenantId", email, name FROM users`);
    for (const row of users) {
      expect(decryptFields(userModel, row, { cipher: onlyV2 }).name).toBe(`Name ${(row.email as string).slice(1, -2)}`);
    }
    // Nothing left: a third run rotates nothing.
    const third = await rotateKeys(cdb.db, { cipher: c2, targets });
    expect(third.targets.every((t) => t.rotated === 0 && t.remaining === 0)).toBe(true);
  });

  it("rotates values the config service sealed, which it reads back under the new key alone", async () => {
    const audit = createAuditService(cdb.db);
    const t3 = await insertTenant(cdb.db, "cr_three");
    const before = createConfigService(cdb.db, { audit, cipher: c1 });
    await before.setConfig(t3, "smtp_password", { value: { user: "mail", pass: "s3cret" }, sensitive: true });
    const r = await rotateKeys(cdb.db, { cipher: c2 });
    expect(r.targets[0]).toMatchObject({ rotated: 1, remaining: 0, failed: [] });
    const after = createConfigService(cdb.db, { audit, cipher: createFieldCipher(createKeyring({ keys: { v2: k2 } })) });
    const own = await after.getConfig(t3, { includeSensitive: true });
    expect(own["smtp_password"]!.value).toEqual({ user: "mail", pass: "s3cret" });
  });

  it("reports undecryptable values and leaves them untouched", async () => {
    const id = randomUUID();
    const wrong = c1.encrypt('"x"', configCipherContext(t1, randomUUID()));
    await cdb.db.execute(`INSERT INTO stratum_config (id, tenant_id, key, sensitive, encrypted_value) VALUES ($1, $2, 'moved', true, $3)`, [id, t1, wrong]);
    const r = await rotateKeys(cdb.db, { cipher: c2 });
    expect(r.targets[0]!.failed).toEqual([{ table: "stratum_config", id, column: "encrypted_value", code: "DECRYPTION_FAILED" }]);
    expect(r.targets[0]!.remaining).toBe(1);
    const [row] = await cdb.db.query<{ encrypted_value: string }>(`SELECT encrypted_value FROM stratum_config WHERE id = $1`, [id]);
    expect(row!.encrypted_value).toBe(wrong);
  });

  it("skips rows locked by a concurrent writer and leaves them for the next run", async () => {
    const t4 = await insertTenant(cdb.db, "cr_four");
    const ring3 = createKeyring({ keys: { v1: k1, v2: k2, v3: randomBytes(32).toString("base64") } });
    const c3 = createFieldCipher(ring3);
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) {
      await cdb.db.execute(`INSERT INTO stratum_config (id, tenant_id, key, sensitive, encrypted_value) VALUES ($1, $2, $3, true, $4)`, [
        id,
        t4,
        `k_${id}`,
        c2.encrypt('"v"', configCipherContext(t4, id)),
      ]);
    }
    const locker = await cdb.pool.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM stratum_config WHERE id = $1 FOR UPDATE`, [ids[0]]);
      const first = await rotateKeys(cdb.db, { cipher: c3, batchSize: 1 });
      // The locked row and the undecryptable row of the previous test.
      expect(first.targets[0]!.remaining).toBe(2);
      await locker.query("COMMIT");
    } finally {
      locker.release();
    }
    const second = await rotateKeys(cdb.db, { cipher: c3 });
    expect(second.targets[0]!.remaining).toBe(1); // only the undecryptable row of the previous test
    const rows = await cdb.db.query<{ encrypted_value: string }>(`SELECT encrypted_value FROM stratum_config WHERE tenant_id = $1`, [t4]);
    expect(rows.map((r) => c3.versionOf(r.encrypted_value))).toEqual([3, 3]);
  });
});
