import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { createConfigService } from "../src/config/index.js";
import { subtreeLockKeySql } from "../src/core/locks.js";
import { rejectsWithCode as rejects } from "./support/errors.js";
import { countingDb, createScratchDb, insertChain, insertTenant, recordingAudit, testCipher, type ScratchDb } from "./support/config-db.js";

let s: ScratchDb;
beforeAll(async () => {
  s = await createScratchDb("cfg");
});
afterAll(async () => {
  await s?.drop();
});

describe("config inheritance (seed quick start)", () => {
  it("resolves exactly as the seeds show", async () => {
    const audit = recordingAudit();
    const cfg = createConfigService(s.db, { audit });
    const root = await insertTenant(s.db, null, "acmesec");
    const msp = await insertTenant(s.db, root, "northstar_msp");
    const clientA = await insertTenant(s.db, msp, "client_alpha");
    await cfg.setConfig(root, "max_users", { value: 1000, locked: false });
    expect(await cfg.resolveConfig(msp)).toEqual({
      max_users: { value: 1000, inherited: true, locked: false, source_tenant_id: root },
    });
    await cfg.setConfig(root, "theme", { value: "dark", locked: true });
    await cfg.setConfig(msp, "max_users", { value: 500 });
    expect(await cfg.resolveConfig(clientA)).toEqual({
      max_users: { value: 500, inherited: true, locked: false, source_tenant_id: msp },
      theme: { value: "dark", inherited: true, locked: true, source_tenant_id: root },
    });
    expect((await cfg.resolveConfig(msp)).max_users).toEqual({ value: 500, inherited: false, locked: false, source_tenant_id: msp });
    // audit rows written in the same transaction
    const rows = await s.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM stratum_audit WHERE action = 'config.set'`);
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(3);
  });

  it("a lock at an ancestor beats a nearer value and refuses descendant writes, naming the locker", async () => {
    const cfg = createConfigService(s.db, { audit: recordingAudit() });
    const [root, mid, leaf] = (await insertChain(s.db, 3)) as [string, string, string];
    await cfg.setConfig(leaf, "color", { value: "red" });
    await cfg.setConfig(mid, "color", { value: "blue", locked: true });
    await cfg.setConfig(root, "color", { value: "green", locked: true });
    // highest locking ancestor wins, even over the leaf's own (older) value
    expect(await cfg.resolveConfigKey(leaf, "color")).toEqual({ value: "green", inherited: true, locked: true, source_tenant_id: root });
    const error = await rejects(cfg.setConfig(leaf, "color", { value: "pink" }), "CONFIG_LOCKED");
    expect(error.message).toContain(root);
    expect(error.message).toMatch(/Unlock it/);
    await rejects(cfg.setConfig(mid, "color", { value: "pink" }), "CONFIG_LOCKED");
    // unlocking at the root gives the middle lock back
    await cfg.setConfig(root, "color", { value: "green", locked: false });
    expect(await cfg.resolveConfigKey(leaf, "color")).toMatchObject({ value: "blue", locked: true, source_tenant_id: mid });
    // the locking tenant itself can still change its value
    await cfg.setConfig(mid, "color", { value: "navy" });
    expect(await cfg.resolveConfigKey(leaf, "color")).toMatchObject({ value: "navy", locked: true });
  });

  it("archived ancestors drop out of resolution", async () => {
    const cfg = createConfigService(s.db, { audit: recordingAudit() });
    const [root, mid, leaf] = (await insertChain(s.db, 3)) as [string, string, string];
    await cfg.setConfig(root, "plan", { value: "free" });
    await cfg.setConfig(mid, "plan", { value: "pro", locked: true });
    expect((await cfg.resolveConfigKey(leaf, "plan"))?.value).toBe("pro");
    await s.db.execute(`UPDATE stratum_tenants SET status = 'archived' WHERE id = $1`, [mid]);
    expect(await cfg.resolveConfigKey(leaf, "plan")).toEqual({ value: "free", inherited: true, locked: false, source_tenant_id: root });
    // with the lock gone the leaf can write again
    await cfg.setConfig(leaf, "plan", { value: "team" });
    await rejects(cfg.setConfig(mid, "plan", { value: "x" }), "TENANT_ARCHIVED");
  });

  it("sensitive values are encrypted at rest and redacted unless asked for", async () => {
    const cipher = testCipher();
    const cfg = createConfigService(s.db, { audit: recordingAudit(), cipher });
    const [root, child] = (await insertChain(s.db, 2)) as [string, string];
    await cfg.setConfig(root, "api_secret", { value: { token: "s3cr3t" }, sensitive: true });
    const stored = await s.db.query<{ value: unknown; encrypted_value: string; id: string }>(
      `SELECT id::text, value, encrypted_value FROM stratum_config WHERE tenant_id = $1 AND key = 'api_secret'`,
      [root],
    );
    expect(stored[0]!.value).toBeNull();
    expect(stored[0]!.encrypted_value).not.toContain("s3cr3t");
    expect((await cfg.resolveConfig(child)).api_secret).toEqual({
      value: null,
      inherited: true,
      locked: false,
      source_tenant_id: root,
      sensitive: true,
      redacted: true,
    });
    expect((await cfg.resolveConfig(child, { includeSensitive: true })).api_secret).toEqual({
      value: { token: "s3cr3t" },
      inherited: true,
      locked: false,
      source_tenant_id: root,
      sensitive: true,
    });
    expect((await cfg.getConfig(root)).api_secret).toMatchObject({ value: null, redacted: true, sensitive: true });
    expect((await cfg.getConfig(root, { includeSensitive: true })).api_secret?.value).toEqual({ token: "s3cr3t" });
    // the ciphertext is bound to its row: copied elsewhere it fails
    const other = await insertTenant(s.db, null);
    await s.db.execute(`INSERT INTO stratum_config (id, tenant_id, key, sensitive, encrypted_value) VALUES (gen_random_uuid(), $1, 'api_secret', true, $2)`, [
      other,
      stored[0]!.encrypted_value,
    ]);
    await rejects(cfg.resolveConfig(other, { includeSensitive: true }), "DECRYPTION_FAILED");
    // no cipher, no sensitive writes
    const plain = createConfigService(s.db, { audit: recordingAudit() });
    await rejects(plain.setConfig(root, "k2", { value: 1, sensitive: true }), "ENCRYPTION_FAILED");
    // the audit log never holds the plaintext
    const audit = await s.db.query<{ after: unknown }>(`SELECT after FROM stratum_audit WHERE target_id = 'api_secret'`);
    expect(JSON.stringify(audit)).not.toContain("s3cr3t");
  });

  it("setConfigBatch applies each key on its own", async () => {
    const cfg = createConfigService(s.db, { audit: recordingAudit() });
    const [root, child] = (await insertChain(s.db, 2)) as [string, string];
    await cfg.setConfig(root, "locked_key", { value: 1, locked: true });
    const out = await cfg.setConfigBatch(child, [
      { key: "a", value: 1 },
      { key: "locked_key", value: 2 },
      { key: "bad key!", value: 3 },
      { key: "b", value: { nested: [1, 2] } },
      { key: "c", value: undefined as unknown as number },
    ]);
    expect(out.applied).toBe(2);
    expect(out.rejected).toBe(3);
    expect(out.results.map((r) => [r.key, r.ok ? "ok" : r.error.code])).toEqual([
      ["a", "ok"],
      ["locked_key", "CONFIG_LOCKED"],
      ["bad key!", "VALIDATION_FAILED"],
      ["b", "ok"],
      ["c", "VALIDATION_FAILED"],
    ]);
    const own = await cfg.getConfig(child);
    expect(Object.keys(own).sort()).toEqual(["a", "b"]);
    // object form
    const out2 = await cfg.setConfigBatch(child, { a: { value: 10 }, z: { value: true } });
    expect(out2.applied).toBe(2);
    expect((await cfg.getConfig(child)).a?.version).toBe(2);
  });

  it("getConfig returns own values only; deleteConfig removes them; diffConfig compares", async () => {
    const cfg = createConfigService(s.db, { audit: recordingAudit() });
    const root = await insertTenant(s.db, null);
    const a = await insertTenant(s.db, root);
    const b = await insertTenant(s.db, root);
    await cfg.setConfig(root, "shared", { value: 1 });
    await cfg.setConfig(a, "only_a", { value: "x" });
    await cfg.setConfig(a, "n", { value: 1 });
    await cfg.setConfig(b, "n", { value: 2 });
    await cfg.setConfig(b, "only_b", { value: { y: 1, z: 2 } });
    expect(Object.keys(await cfg.getConfig(a)).sort()).toEqual(["n", "only_a"]);
    expect(await cfg.getConfig(await insertTenant(s.db, null))).toEqual({});
    const diff = await cfg.diffConfig(a, b);
    expect(diff.same).toEqual(["shared"]);
    expect(Object.keys(diff.changed).sort()).toEqual(["n", "only_a", "only_b"]);
    expect(diff.changed.n).toMatchObject({ status: "different", a: { value: 1 }, b: { value: 2 } });
    expect(diff.changed.only_a?.status).toBe("only_a");
    expect(diff.changed.only_b?.status).toBe("only_b");
    await cfg.deleteConfig(a, "n");
    expect(await cfg.resolveConfigKey(a, "n")).toBeNull();
    await rejects(cfg.deleteConfig(a, "shared"), "CONFIG_NOT_FOUND");
    await rejects(cfg.resolveConfig("00000000-0000-4000-8000-000000000000"), "TENANT_NOT_FOUND");
    await rejects(cfg.resolveConfig("nope"), "VALIDATION_FAILED");
  });

  it("typed config refuses mismatching values naming the key", async () => {
    const schema = z.object({ max_users: z.number().int().positive(), theme: z.enum(["dark", "light"]) });
    const cfg = createConfigService(s.db, { audit: recordingAudit(), schema });
    const root = await insertTenant(s.db, null);
    await cfg.setConfig(root, "max_users", { value: 10 });
    const error = await rejects(cfg.setConfig(root, "theme", { value: "pink" as "dark" }), "VALIDATION_FAILED");
    expect(error.message).toContain('"theme"');
    const resolved = await cfg.resolveConfig(root);
    const n: number | null | undefined = resolved.max_users?.value;
    expect(n).toBe(10);
    const strict = createConfigService(s.db, { audit: recordingAudit(), schema: schema.strict() });
    await rejects(strict.setConfig(root, "unknown" as "theme", { value: "dark" }), "VALIDATION_FAILED");
  });

  it("resolves in exactly one statement at depth 20", async () => {
    const counted = countingDb(s.db);
    const cfg = createConfigService(counted, { audit: recordingAudit() });
    const chain = await insertChain(s.db, 20);
    for (let i = 0; i < 20; i++) {
      await cfg.setConfig(chain[i % 20]!, `k${i}`, { value: i, locked: i % 5 === 0 });
    }
    counted.reset();
    const resolved = await cfg.resolveConfig(chain[19]!);
    expect(counted.count).toBe(1);
    expect(Object.keys(resolved)).toHaveLength(20);
    expect(resolved.k5).toMatchObject({ value: 5, locked: true, source_tenant_id: chain[5] });
    counted.reset();
    await cfg.resolveConfigKey(chain[19]!, "k3");
    expect(counted.count).toBe(1);
    const depth = await s.db.query<{ depth: number }>(`SELECT depth FROM stratum_tenants WHERE id = $1`, [chain[19]]);
    expect(depth[0]!.depth).toBe(19);
  });
});

describe("config writes and tree moves", () => {
  it("a config write waits while an ancestor's move holds its subtree, so it never locks a chain that is being moved", async () => {
    const cfg = createConfigService(s.db, { audit: recordingAudit() });
    const root = await insertTenant(s.db, null);
    const child = await insertTenant(s.db, root);
    // What the tenants service holds for the length of a move of root: root's subtree lock, exclusively.
    const mover = await s.pool.connect();
    try {
      await mover.query("BEGIN");
      await mover.query(`SELECT pg_advisory_xact_lock(${subtreeLockKeySql("$1::text")})`, [root]);
      let settled = false;
      const write = cfg.setConfig(child, "limit", { value: 1 }).finally(() => (settled = true));
      // Wait for the event itself: the write queued behind root's subtree lock in this database.
      await vi.waitFor(
        async () => {
          const { rows } = await s.pool.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
          );
          expect(rows[0]!.n).toBeGreaterThan(0);
        },
        { timeout: 20_000, interval: 20 },
      );
      expect(settled).toBe(false);
      await mover.query("COMMIT");
      await write;
      expect((await cfg.resolveConfig(child)).limit).toMatchObject({ value: 1, source_tenant_id: child });
    } finally {
      mover.release();
    }
  });
});
