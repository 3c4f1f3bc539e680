/**
 * Scratch PostgreSQL database per compliance test file (audit, crypto, gdpr, consent), until the
 * shared harness (test/harness) lands. Applies prisma/migrations/* in order when they exist, else
 * a minimal DDL of the stratum tables these services touch, plus the example app's tables.
 * Connects as the superuser: tests that need the app role create one with `createAppRole`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { pgDb, type Db } from "../../src/core/db.js";
import { securitySql, tenantTreeSql } from "../../generators/sql/security.js";

export const ADMIN_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface ComplianceDb {
  name: string;
  url: string;
  pool: pg.Pool;
  db: Db;
  /** Opens a pool on this database as another role (e.g. the app role). */
  connectAs(role: string): pg.Pool;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string, user?: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  if (user) {
    u.username = user;
    u.password = "";
  }
  return u.toString();
}

const MINIMAL_DDL = `
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE TABLE IF NOT EXISTS stratum_tenants (
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
CREATE INDEX IF NOT EXISTS stratum_tenants_path_idx ON stratum_tenants USING gist (path gist_ltree_ops);
CREATE TABLE IF NOT EXISTS stratum_scope_keys (id int PRIMARY KEY DEFAULT 1, key text NOT NULL, created_at timestamptz(6) NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS stratum_config (
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
CREATE TABLE IF NOT EXISTS stratum_permissions (
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
CREATE TABLE IF NOT EXISTS stratum_audit (
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
CREATE INDEX IF NOT EXISTS stratum_audit_tenant_id_id_idx ON stratum_audit(tenant_id, id);
CREATE TABLE IF NOT EXISTS stratum_api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid,
  name text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  scopes text[],
  created_at timestamptz(6) NOT NULL DEFAULT now(),
  revoked_at timestamptz(6),
  last_used_at timestamptz(6)
);
CREATE TABLE IF NOT EXISTS stratum_webhooks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid,
  url text NOT NULL,
  secret text NOT NULL,
  events text[],
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz(6) NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS stratum_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  webhook_id uuid NOT NULL REFERENCES stratum_webhooks(id) ON DELETE CASCADE,
  event text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  attempts int NOT NULL DEFAULT 0,
  last_error text,
  next_attempt_at timestamptz(6),
  created_at timestamptz(6) NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS stratum_consents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES stratum_tenants(id) ON DELETE CASCADE,
  subject_id text NOT NULL,
  purpose text NOT NULL,
  granted boolean NOT NULL,
  source text,
  created_at timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS stratum_consents_idx ON stratum_consents(tenant_id, subject_id, purpose, created_at);
CREATE TABLE IF NOT EXISTS stratum_isolation_moves (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  from_strategy text NOT NULL,
  to_strategy text NOT NULL,
  from_placement text,
  to_placement text,
  step text NOT NULL,
  row_counts jsonb NOT NULL DEFAULT '{}',
  error text,
  started_at timestamptz(6) NOT NULL DEFAULT now(),
  finished_at timestamptz(6)
);
CREATE TABLE IF NOT EXISTS users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  email text NOT NULL,
  name text,
  UNIQUE (tenant_id, email),
  UNIQUE (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS tickets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  title text NOT NULL,
  author_id uuid NOT NULL,
  FOREIGN KEY (tenant_id, author_id) REFERENCES users(tenant_id, id)
);
CREATE INDEX IF NOT EXISTS tickets_tenant_id_idx ON tickets(tenant_id);
`;

function migrationFiles(): string[] {
  const dir = join(process.cwd(), "prisma", "migrations");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name, "migration.sql"))
    .filter((f) => existsSync(f))
    .sort();
}

export async function createComplianceDb(): Promise<ComplianceDb> {
  const name = `cmp_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(ADMIN_URL, name);
  const pool = new pg.Pool({ connectionString: url, max: 6 });
  const files = migrationFiles();
  if (files.length > 0) {
    try {
      for (const file of files) await pool.query(readFileSync(file, "utf8"));
    } catch (error) {
      // Migrations are still being written by others: fall back to the minimal DDL alone.
      console.warn(`compliance-db: migrations did not apply (${(error as Error).message}); using minimal DDL`);
      await pool.query(`DROP SCHEMA public CASCADE; CREATE SCHEMA public;`);
    }
  }
  // Idempotent: fills in whatever the migrations do not (yet) contain.
  await pool.query(MINIMAL_DDL);
  await pool.query(tenantTreeSql());
  // Prisma's @default(uuid()) lives in the client, not the table: give the tests a DB default.
  await pool.query(`DO $do$ DECLARE r record; BEGIN
    FOR r IN SELECT table_name FROM information_schema.columns
              WHERE table_schema = 'public' AND column_name = 'id' AND data_type = 'uuid' AND column_default IS NULL LOOP
      EXECUTE format('ALTER TABLE public.%I ALTER COLUMN id SET DEFAULT gen_random_uuid()', r.table_name);
    END LOOP; END $do$;`);
  const extraPools: pg.Pool[] = [];
  return {
    name,
    url,
    pool,
    db: pgDb(pool),
    connectAs(role) {
      const p = new pg.Pool({ connectionString: withDatabase(ADMIN_URL, name, role), max: 2 });
      extraPools.push(p);
      return p;
    },
    async drop() {
      for (const p of extraPools) await p.end().catch(() => undefined);
      await pool.end();
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

const STRATUM_GLOBAL_TABLES = [
  "stratum_tenants",
  "stratum_config",
  "stratum_permissions",
  "stratum_audit",
  "stratum_api_keys",
  "stratum_webhooks",
  "stratum_deliveries",
  "stratum_consents",
  "stratum_isolation_moves",
];

export interface AppRole {
  role: string;
  /** A signed admin scope token for `set_config('stratum.tenant_id', token, true)`. */
  adminScope: string;
  drop(): Promise<void>;
}

/**
 * Creates a LOGIN app role (not superuser, not owner, NOBYPASSRLS), applies the security SQL to
 * the scratch database (grants: SELECT, INSERT only on stratum_audit) and installs a scope key,
 * returning a valid admin scope token so the role can reach stratum's global tables.
 */
export async function createAppRole(cdb: ComplianceDb): Promise<AppRole> {
  const role = `cmp_app_${randomBytes(4).toString("hex")}`;
  await cdb.pool.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS`);
  await cdb.pool.query(
    securitySql({ appRole: role, tenantTables: [], globalTables: STRATUM_GLOBAL_TABLES, appendOnlyTables: ["stratum_audit"] }),
  );
  const key = randomBytes(32).toString("hex");
  await cdb.pool.query(
    `INSERT INTO stratum_scope_keys (id, key) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key`,
    [key],
  );
  const head = `${randomUUID()}.a`;
  const sha = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
  const adminScope = `${head}.${sha(key + sha(key + head))}`;
  return {
    role,
    adminScope,
    async drop() {
      const c = new pg.Client({ connectionString: cdb.url });
      await c.connect();
      try {
        await c.query(`DROP OWNED BY ${role} CASCADE`);
        await c.query(`DROP ROLE IF EXISTS ${role}`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Inserts a tenant (the path trigger fills path and depth) and returns its id. */
export async function insertTenant(db: Db, slug: string, parentId: string | null = null, strategy = "SHARED_RLS"): Promise<string> {
  const rows = await db.query<{ id: string }>(
    `INSERT INTO stratum_tenants (slug, name, parent_id, isolation_strategy) VALUES ($1, $2, $3, $4) RETURNING id`,
    [slug, `Tenant ${slug}`, parentId, strategy],
  );
  return rows[0]!.id;
}
