/**
 * A database per compliance test file (audit, crypto, gdpr, consent) from the shared harness
 * (test/harness: cloned from the migrated template; roles stratum_owner and stratum_app), with a
 * superuser pool for setup and assertions, and the app role for the privilege tests.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { pgDb, type Db } from "../../src/core/db.js";
import { ADMIN_TENANT_ID } from "../../src/isolation/scope.js";
import { createTestDatabase } from "../harness/database.js";

export interface ComplianceDb {
  name: string;
  /** Superuser URL of this database. */
  url: string;
  /** Superuser pool (bypasses RLS: the tests filter by tenant themselves). */
  pool: pg.Pool;
  db: Db;
  /** A pool logged in as the application role (stratum_app). */
  connectApp(): pg.Pool;
  /** A signed admin scope for `set_config('stratum.tenant_id', scope, true)` on the app role. */
  adminScope: string;
  drop(): Promise<void>;
}

export async function createComplianceDb(): Promise<ComplianceDb> {
  const tdb = await createTestDatabase({ label: "cmp" });
  const pool = new pg.Pool({ connectionString: tdb.adminUrl, max: 6 });
  // Prisma's @default(uuid()) lives in the client, not the table: give the tests a DB default.
  await pool.query(`DO $do$ DECLARE r record; BEGIN
    FOR r IN SELECT table_name FROM information_schema.columns
              WHERE table_schema = 'public' AND column_name = 'id' AND data_type = 'uuid' AND column_default IS NULL LOOP
      EXECUTE format('ALTER TABLE public.%I ALTER COLUMN id SET DEFAULT gen_random_uuid()', r.table_name);
    END LOOP; END $do$;`);
  // The one admin token stratum signs (ADMIN_TENANT_ID): the token table holds no other.
  const head = `${ADMIN_TENANT_ID}.a`;
  const sha = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
  const extraPools: pg.Pool[] = [];
  return {
    name: tdb.name,
    url: tdb.adminUrl,
    pool,
    db: pgDb(pool),
    adminScope: `${head}.${sha(tdb.scopeKey + sha(tdb.scopeKey + head))}`,
    connectApp() {
      const p = new pg.Pool({ connectionString: tdb.appUrl, max: 2 });
      extraPools.push(p);
      return p;
    },
    async drop() {
      for (const p of extraPools) await p.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await tdb.drop();
    },
  };
}

/** Inserts a tenant (the path trigger fills path and depth) and returns its id. */
export async function insertTenant(db: Db, slug: string, parentId: string | null = null, strategy = "SHARED_RLS"): Promise<string> {
  const rows = await db.query<{ id: string }>(`INSERT INTO stratum_tenants (slug, name, parent_id, isolation_strategy) VALUES ($1, $2, $3, $4) RETURNING id`, [
    slug,
    `Tenant ${slug}`,
    parentId,
    strategy,
  ]);
  return rows[0]!.id;
}
