/**
 * A scratch PostgreSQL database per test file for the config / permissions / ABAC tests, until the
 * shared harness (test/harness) lands. Swap `createScratchDb` for `createTestDatabase()` then: the
 * tests only need `{ db, pool, url, drop }`.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { pgDb, type Db } from "../../src/core/db.js";
import type { AuditEntry, AuditSink, CipherContext, ValueCipher } from "../../src/core/ports.js";
import { tenantTreeSql } from "../../src/sql/security.js";

export const ADMIN_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface ScratchDb {
  name: string;
  url: string;
  pool: pg.Pool;
  db: Db;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Minimal DDL for the tables these services touch, used when no Prisma migrations exist yet. */
export const MINIMAL_DDL = `
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE TABLE stratum_tenants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  parent_id uuid REFERENCES stratum_tenants(id) ON DELETE RESTRICT,
  slug text NOT NULL UNIQUE,
  name text NOT NULL,
  path ltree,
  depth int NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'active',
  isolation_strategy text NOT NULL DEFAULT 'SHARED_RLS',
  placement text,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz(6) NOT NULL DEFAULT now(),
  updated_at timestamptz(6) NOT NULL DEFAULT now(),
  archived_at timestamptz(6)
);
CREATE INDEX stratum_tenants_parent_id_idx ON stratum_tenants(parent_id);
CREATE INDEX stratum_tenants_path_idx ON stratum_tenants USING gist (path gist_ltree_ops);
CREATE TABLE stratum_config (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES stratum_tenants(id) ON DELETE CASCADE,
  key text NOT NULL,
  value jsonb,
  locked boolean NOT NULL DEFAULT false,
  sensitive boolean NOT NULL DEFAULT false,
  encrypted_value text,
  version int NOT NULL DEFAULT 1,
  created_at timestamptz(6) NOT NULL DEFAULT now(),
  updated_at timestamptz(6) NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, key)
);
CREATE TABLE stratum_permissions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES stratum_tenants(id) ON DELETE CASCADE,
  key text NOT NULL,
  value jsonb NOT NULL,
  mode text NOT NULL,
  revocation_mode text NOT NULL DEFAULT 'CASCADE',
  revoked_at timestamptz(6),
  delegated_from uuid,
  created_at timestamptz(6) NOT NULL DEFAULT now(),
  updated_at timestamptz(6) NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, key)
);
CREATE TABLE stratum_audit (
  id bigserial PRIMARY KEY,
  tenant_id uuid,
  actor text NOT NULL,
  action text NOT NULL,
  target_type text,
  target_id text,
  before jsonb,
  after jsonb,
  request_id text,
  created_at timestamptz(6) NOT NULL DEFAULT now()
);
CREATE TABLE stratum_abac_policies (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES stratum_tenants(id) ON DELETE CASCADE,
  name text NOT NULL,
  effect text NOT NULL,
  actions text[] NOT NULL,
  resource_type text,
  conditions jsonb NOT NULL DEFAULT '[]',
  priority int NOT NULL DEFAULT 0,
  created_at timestamptz(6) NOT NULL DEFAULT now(),
  updated_at timestamptz(6) NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);
`;

function migrationFiles(): string[] {
  const dir = join(process.cwd(), "prisma", "migrations");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "migration.sql")))
    .map((d) => join(dir, d.name, "migration.sql"))
    .sort();
}

/**
 * A fresh database for one test file. Under the shared harness (vitest globalSetup provided
 * STRATUM_TEST_TEMPLATE) it is `createTestDatabase()` connected as the owner role; otherwise a
 * scratch database here, migrated with prisma/migrations when they create every table these
 * services use, else with MINIMAL_DDL.
 */
export async function createScratchDb(prefix = "cfg"): Promise<ScratchDb> {
  if (process.env.STRATUM_TEST_TEMPLATE && !process.env.STRATUM_CFG_OWN_DB) {
    const harnessPath = "../harness/database.js";
    const harness = (await import(harnessPath)) as {
      createTestDatabase(o?: { label?: string }): Promise<{ name: string; ownerUrl: string; drop(): Promise<void> }>;
    };
    const tdb = await harness.createTestDatabase({ label: prefix });
    const pool = new pg.Pool({ connectionString: tdb.ownerUrl, max: 8 });
    return {
      name: tdb.name,
      url: tdb.ownerUrl,
      pool,
      db: pgDb(pool),
      async drop() {
        await pool.end();
        await tdb.drop();
      },
    };
  }
  const name = `${prefix}_${randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(ADMIN_URL, name);
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  const files = migrationFiles();
  const sql = files.map((f) => readFileSync(f, "utf8"));
  const complete = ["stratum_tenants", "stratum_config", "stratum_permissions", "stratum_audit", "stratum_abac_policies"].every((t) =>
    sql.some((text) => text.includes(`CREATE TABLE "${t}"`)),
  );
  if (complete) {
    for (const text of sql) await pool.query(text);
  } else {
    await pool.query(MINIMAL_DDL);
  }
  await pool.query(tenantTreeSql());
  return {
    name,
    url,
    pool,
    db: pgDb(pool),
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** An AuditSink that inserts into stratum_audit inside the caller's transaction and keeps a copy. */
export function recordingAudit(): AuditSink & { entries: AuditEntry[] } {
  const entries: AuditEntry[] = [];
  return {
    entries,
    async record(tx, entry) {
      await tx.execute(
        `INSERT INTO stratum_audit (tenant_id, actor, action, target_type, target_id, before, after)
         VALUES ($1, 'system', $2, $3, $4, $5::jsonb, $6::jsonb)`,
        [
          entry.tenantId,
          entry.action,
          entry.targetType ?? null,
          entry.targetId ?? null,
          entry.before === undefined ? null : JSON.stringify(entry.before),
          entry.after === undefined ? null : JSON.stringify(entry.after),
        ],
      );
      entries.push(entry);
    },
  };
}

let slugCounter = 0;
/** Inserts a tenant with plain SQL (the trigger fills path and depth); returns its id. */
export async function insertTenant(db: Db, parentId: string | null, slug?: string): Promise<string> {
  const id = randomUUID();
  const s = slug ?? `t_${++slugCounter}_${id.slice(0, 8)}`;
  await db.execute(`INSERT INTO stratum_tenants (id, parent_id, slug, name) VALUES ($1, $2, $3, $4)`, [id, parentId, s, s]);
  return id;
}

/** A chain root → … of `levels` tenants; returns the ids, root first. */
export async function insertChain(db: Db, levels: number): Promise<string[]> {
  const ids: string[] = [];
  let parent: string | null = null;
  for (let i = 0; i < levels; i++) {
    parent = await insertTenant(db, parent);
    ids.push(parent);
  }
  return ids;
}

/** Wraps a Db to count statements (query + execute), transactions included. */
export function countingDb(inner: Db): Db & { count: number; reset(): void } {
  const wrap = (d: Db, counter: { count: number }): Db => ({
    query: (sql, params) => {
      counter.count++;
      return d.query(sql, params);
    },
    execute: (sql, params) => {
      counter.count++;
      return d.execute(sql, params);
    },
    transaction: (fn) => d.transaction((tx) => fn(wrap(tx, counter))),
  });
  const counter = { count: 0 };
  const base = wrap(inner, counter);
  return {
    ...base,
    get count() {
      return counter.count;
    },
    reset() {
      counter.count = 0;
    },
  };
}

/** AES-256-GCM with the context as AAD, standing in for the crypto service in these tests. */
export function testCipher(): ValueCipher {
  const key = randomBytes(32);
  const aad = (c: CipherContext) => Buffer.from(`${c.tenantId}|${c.table}|${c.column}|${c.rowId}`);
  return {
    encrypt(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(aad(context));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
    },
    decrypt(sealed, context) {
      const raw = Buffer.from(sealed.slice(3), "base64");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
      decipher.setAAD(aad(context));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    },
  };
}
