import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { ltree } from "@electric-sql/pglite/contrib/ltree";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { isStratumError } from "../src/core/errors.js";
import { applyMigrations, applyMigrationsToUrl, listMigrations, pgliteExecutor } from "../src/migrate/runner.js";
import { diffSql, driftSql, loadSchemaEngine, prismaDeploy, prismaMigrationStatus } from "../src/migrate/schema-engine.js";
import { createRequire } from "node:module";
import { nextMigrationSql } from "../src/migrate/create.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { MIGRATIONS_DIR, SCHEMA_DIR } from "./harness/template.js";

const migrationNames = listMigrations(MIGRATIONS_DIR).map((m) => m.name);

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function tempMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), "stratum-migrations-"));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

const dirs: string[] = [];
const dbs: TestDatabase[] = [];
async function emptyDb(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase({ empty: true, label });
  dbs.push(db);
  return db;
}
afterAll(async () => {
  for (const db of dbs) await db.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("init migration", () => {
  it("exists, with the ltree extension and the GiST index on the tenant path", () => {
    expect(migrationNames).toContain("20261123000000_init");
    const sql = readFileSync(join(MIGRATIONS_DIR, "20261123000000_init", "migration.sql"), "utf8");
    expect(sql).toContain('CREATE EXTENSION IF NOT EXISTS "ltree"');
    expect(sql).toMatch(/"path" ltree/);
    expect(sql).toContain('USING GIST ("path" gist_ltree_ops)');
    expect(readFileSync(join(MIGRATIONS_DIR, "migration_lock.toml"), "utf8")).toContain('provider = "postgresql"');
  });

  it("comes from the WASM build of exactly our engines commit (bundled with the prisma CLI)", async () => {
    const { enginesVersion } = createRequire(import.meta.url)("@prisma/engines-version") as { enginesVersion: string };
    const info = await loadSchemaEngine();
    expect(info.version).toBe(enginesVersion);
    expect(info.wasmPath).toMatch(/prisma[\\/]build[\\/]schema_engine_bg\.wasm$/);
  });

  it("is what the WASM schema engine diffs from empty (no database needed)", async () => {
    const sql = await diffSql({ from: "empty", toSchemaDir: SCHEMA_DIR });
    expect(sql).toContain('CREATE TABLE "stratum_tenants"');
    expect(sql).toContain('CREATE INDEX "stratum_tenants_path_idx" ON "stratum_tenants" USING GIST ("path" gist_ltree_ops);');
  });
});

describe("runner on PostgreSQL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await emptyDb("mig_fresh");
  });

  it("applies every migration on a fresh database, as the owner", async () => {
    const result = await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: MIGRATIONS_DIR });
    expect(result.applied).toEqual(migrationNames);
    expect(result.alreadyApplied).toEqual([]);
    const owners = await withClient(db.adminUrl, (c) =>
      c.query<{ owner: string }>(`SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = 'public'`),
    );
    expect(owners.rows.map((r) => r.owner)).toEqual(["stratum_owner"]);
  });

  it("is idempotent", async () => {
    const again = await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: MIGRATIONS_DIR });
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toEqual(migrationNames);
  });

  it("indexes every lookup stratum's tables take by tenant, by parent row and in listing order", async () => {
    // Without one, a tenant's deletion cascades through, and a listing reads, the whole table:
    // unnoticed on a test database, a scan of every tenant's rows at volume.
    const { rows } = await withClient(db.adminUrl, (c) =>
      c.query<{ table: string; columns: string; indexed: boolean }>(
        `WITH lookups AS (
           SELECT con.conrelid AS rel, con.conkey[1:cardinality(con.conkey)] AS cols FROM pg_constraint con
            WHERE con.contype = 'f' AND con.conrelid::regclass::text LIKE 'stratum\\_%'
           UNION ALL
           SELECT a.attrelid, ARRAY[a.attnum] FROM pg_attribute a
            WHERE a.attname = 'tenant_id' AND NOT a.attisdropped AND a.attrelid::regclass::text LIKE 'stratum\\_%'
              AND a.attrelid IN (SELECT oid FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace)
           UNION ALL
           SELECT 'stratum_tenants'::regclass, ARRAY(SELECT attnum FROM pg_attribute WHERE attrelid = 'stratum_tenants'::regclass AND attname IN ('created_at', 'id') ORDER BY attname))
         SELECT l.rel::regclass::text AS table,
                (SELECT string_agg(attname, ', ' ORDER BY array_position(l.cols, attnum)) FROM pg_attribute WHERE attrelid = l.rel AND attnum = ANY(l.cols)) AS columns,
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = l.rel AND (i.indkey::int2[])[0:cardinality(l.cols) - 1] = l.cols::int2[]) AS indexed
           FROM lookups l ORDER BY 1, 2`,
      ),
    );
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((r) => !r.indexed)).toEqual([]);
  });

  it("keeps Prisma's _prisma_migrations bookkeeping: table shape and sha256 checksums", async () => {
    const columns = await withClient(db.adminUrl, (c) =>
      c.query<{ column_name: string; data_type: string; max: number | null; nullable: string; def: string | null }>(
        `SELECT column_name, data_type, character_maximum_length AS max, is_nullable AS nullable, column_default AS def
           FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      ),
    );
    expect(columns.rows).toEqual([
      { column_name: "id", data_type: "character varying", max: 36, nullable: "NO", def: null },
      { column_name: "checksum", data_type: "character varying", max: 64, nullable: "NO", def: null },
      { column_name: "finished_at", data_type: "timestamp with time zone", max: null, nullable: "YES", def: null },
      { column_name: "migration_name", data_type: "character varying", max: 255, nullable: "NO", def: null },
      { column_name: "logs", data_type: "text", max: null, nullable: "YES", def: null },
      { column_name: "rolled_back_at", data_type: "timestamp with time zone", max: null, nullable: "YES", def: null },
      { column_name: "started_at", data_type: "timestamp with time zone", max: null, nullable: "NO", def: "now()" },
      { column_name: "applied_steps_count", data_type: "integer", max: null, nullable: "NO", def: "0" },
    ]);
    const rows = await withClient(db.adminUrl, (c) =>
      c.query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number; id: string }>(
        `SELECT * FROM _prisma_migrations ORDER BY migration_name`,
      ),
    );
    expect(rows.rows.map((r) => r.migration_name)).toEqual(migrationNames);
    for (const row of rows.rows) {
      const file = readFileSync(join(MIGRATIONS_DIR, row.migration_name, "migration.sql"));
      expect(row.checksum).toBe(createHash("sha256").update(file).digest("hex"));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("reports no drift between the migrated database and prisma/schema (ltree GiST index included)", async () => {
    expect(await driftSql(db.adminUrl, SCHEMA_DIR)).toBe("");
  });

  it("reports drift when the database differs from the schema", async () => {
    const other = await emptyDb("mig_drift");
    await applyMigrationsToUrl(other.ownerUrl, { migrationsDir: MIGRATIONS_DIR });
    await withClient(other.ownerUrl, (c) => c.query(`DROP INDEX stratum_tenants_path_idx`));
    const drift = await driftSql(other.adminUrl, SCHEMA_DIR);
    expect(drift).toContain("stratum_tenants_path_idx");
    expect(drift).toContain("GIST");
  });

  it("serialises concurrent runners with the advisory lock", async () => {
    const other = await emptyDb("mig_race");
    const results = await Promise.all([1, 2, 3].map(() => applyMigrationsToUrl(other.ownerUrl, { migrationsDir: MIGRATIONS_DIR })));
    expect(results.flatMap((r) => r.applied).sort()).toEqual([...migrationNames].sort());
    const count = await withClient(other.adminUrl, (c) => c.query<{ n: string }>(`SELECT count(*) AS n FROM _prisma_migrations`));
    expect(Number(count.rows[0]?.n)).toBe(migrationNames.length);
  });
});

describe("interop with Prisma's own migration logic (the WASM engine's migrate status / deploy)", () => {
  it("sees the runner's history as complete: nothing failed, edited or left to apply", async () => {
    const db = await emptyDb("mig_prisma");
    await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: MIGRATIONS_DIR });
    const status = await prismaMigrationStatus(db.ownerUrl, MIGRATIONS_DIR, SCHEMA_DIR);
    expect(status).toEqual({ editedMigrationNames: [], failedMigrationNames: [], hasMigrationsTable: true, history: null });
    expect(await prismaDeploy(db.ownerUrl, MIGRATIONS_DIR, SCHEMA_DIR)).toEqual([]);
  });

  it("ignores the runner's rolled-back failures, and the runner accepts what Prisma applied", async () => {
    const db = await emptyDb("mig_prisma_fail");
    const dir = tempMigrations();
    dirs.push(dir);
    const broken = "29991231000003_broken";
    mkdirSync(join(dir, broken));
    writeFileSync(join(dir, broken, "migration.sql"), "SELECT * FROM no_such_table;\n");
    await expect(applyMigrationsToUrl(db.ownerUrl, { migrationsDir: dir })).rejects.toThrow(/no_such_table/);
    writeFileSync(join(dir, broken, "migration.sql"), "CREATE TABLE fixed_later (id int);\n");
    const status = await prismaMigrationStatus(db.ownerUrl, dir, SCHEMA_DIR);
    expect(status.failedMigrationNames).toEqual([]);
    expect(status.history).toEqual({ diagnostic: "databaseIsBehind", unappliedMigrationNames: [broken] });
    expect(await prismaDeploy(db.ownerUrl, dir, SCHEMA_DIR)).toEqual([broken]);
    const ours = await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: dir });
    expect(ours.applied).toEqual([]);
    expect(ours.alreadyApplied).toContain(broken);
  });
});

describe("next migration (migrate dev --create-only without the engine)", () => {
  it("is empty when the migrations match the schema, and holds the missing pieces otherwise", async () => {
    const adminUrl = inject("stratumAdminUrl");
    expect(await nextMigrationSql({ adminUrl, migrationsDir: MIGRATIONS_DIR, schemaDir: SCHEMA_DIR })).toBe("");
    const dir = tempMigrations();
    dirs.push(dir);
    const init = join(dir, "20261123000000_init", "migration.sql");
    const withoutIndex = readFileSync(init, "utf8").replace(/CREATE INDEX "stratum_tenants_path_idx"[^;]*;/, "");
    writeFileSync(init, withoutIndex);
    const next = await nextMigrationSql({ adminUrl, migrationsDir: dir, schemaDir: SCHEMA_DIR });
    expect(next).toContain('CREATE INDEX "stratum_tenants_path_idx" ON "stratum_tenants" USING GIST ("path" gist_ltree_ops);');
  });
});

describe("runner failures", () => {
  it("rolls a broken migration back entirely, records it with its log, and throws MIGRATION_FAILED", async () => {
    const db = await emptyDb("mig_broken");
    const dir = tempMigrations();
    dirs.push(dir);
    const broken = "29991231000000_broken";
    mkdirSync(join(dir, broken));
    writeFileSync(
      join(dir, broken, "migration.sql"),
      "-- good statements, then a bad one\nCREATE TABLE half_written (id int);\nINSERT INTO half_written VALUES (1);\nSELECT * FROM no_such_table;\n" +
        "CREATE FUNCTION never_created() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN PERFORM 1; RETURN 1; END $fn$;\n",
    );
    const error = await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: dir }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStratumError(error, "MIGRATION_FAILED")).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(broken);
    expect(message).toContain('relation "no_such_table" does not exist');
    expect(message).toContain("line 4");
    expect(message).toContain("Statement: SELECT * FROM no_such_table;");
    expect(message).toMatch(/rolled back/);
    expect(message).toMatch(/Fix .*migration\.sql/);

    await withClient(db.adminUrl, async (c) => {
      const table = await c.query(`SELECT to_regclass('public.half_written') AS t`);
      expect(table.rows[0].t).toBeNull();
      const rows = await c.query(
        `SELECT migration_name, finished_at, rolled_back_at, logs, applied_steps_count FROM _prisma_migrations ORDER BY started_at, migration_name`,
      );
      const byName = new Map(rows.rows.map((r) => [r.migration_name as string, r]));
      for (const name of migrationNames) expect(byName.get(name)?.finished_at).toBeInstanceOf(Date);
      const failed = byName.get(broken);
      expect(failed?.finished_at).toBeNull();
      expect(failed?.rolled_back_at).toBeInstanceOf(Date);
      expect(failed?.applied_steps_count).toBe(0);
      expect(String(failed?.logs)).toContain("no_such_table");
    });

    // Fixed, it applies on the next run (the failed attempt does not block it).
    writeFileSync(join(dir, broken, "migration.sql"), "CREATE TABLE half_written (id int);\n");
    const retry = await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: dir });
    expect(retry.applied).toEqual([broken]);
  });

  it("detects an applied migration whose file changed (error unless allowChanged)", async () => {
    const db = await emptyDb("mig_changed");
    const dir = tempMigrations();
    dirs.push(dir);
    const extra = "29991231000001_extra";
    mkdirSync(join(dir, extra));
    writeFileSync(join(dir, extra, "migration.sql"), "CREATE TABLE extra_table (id int);\n");
    await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: dir });
    writeFileSync(join(dir, extra, "migration.sql"), "CREATE TABLE extra_table (id bigint);\n");

    const error = await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: dir }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStratumError(error, "MIGRATION_FAILED")).toBe(true);
    expect((error as Error).message).toContain(extra);
    expect((error as Error).message).toMatch(/modified after it was applied/);

    const accepted = await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: dir, allowChanged: true });
    expect(accepted.changed).toEqual([extra]);
    expect(accepted.applied).toEqual([]);
  });

  it("refuses a migration another tool left half-applied", async () => {
    const db = await emptyDb("mig_stuck");
    await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: MIGRATIONS_DIR });
    const dir = tempMigrations();
    dirs.push(dir);
    const stuck = "29991231000002_stuck";
    mkdirSync(join(dir, stuck));
    writeFileSync(join(dir, stuck, "migration.sql"), "SELECT 1;\n");
    await withClient(db.ownerUrl, (c) =>
      c.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, logs) VALUES (gen_random_uuid()::text, 'x', $1, 'boom')`, [stuck]),
    );
    const error = await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(isStratumError(error, "MIGRATION_FAILED")).toBe(true);
    expect((error as Error).message).toContain(`prisma migrate resolve --rolled-back ${stuck}`);
  });
});

describe("runner on PGlite (the quick start's embedded database)", () => {
  it("applies every migration with ltree, idempotently, with the same bookkeeping", async () => {
    const db = new PGlite({ extensions: { ltree } });
    try {
      const executor = pgliteExecutor(db);
      const first = await applyMigrations(executor, { migrationsDir: MIGRATIONS_DIR });
      expect(first.applied).toEqual(migrationNames);
      const second = await applyMigrations(executor, { migrationsDir: MIGRATIONS_DIR });
      expect(second.applied).toEqual([]);
      expect(second.alreadyApplied).toEqual(migrationNames);
      const rows = await db.query<{ migration_name: string; checksum: string }>(
        `SELECT migration_name, checksum FROM _prisma_migrations ORDER BY migration_name`,
      );
      expect(rows.rows).toEqual(listMigrations(MIGRATIONS_DIR).map((m) => ({ migration_name: m.name, checksum: m.checksum })));
      const index = await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'stratum_tenants_path_idx'`);
      expect(index.rows[0]?.indexdef).toMatch(/USING gist \(path( gist_ltree_ops)?\)/);
      const ok = await db.query<{ inside: boolean }>(`SELECT 'a.b.c'::ltree <@ 'a.b'::ltree AS inside`);
      expect(ok.rows[0]?.inside).toBe(true);
    } finally {
      await db.close();
    }
  });

  it("rolls back a broken migration on PGlite too", async () => {
    const db = new PGlite({ extensions: { ltree } });
    const dir = tempMigrations();
    dirs.push(dir);
    mkdirSync(join(dir, "29991231000000_broken"));
    writeFileSync(join(dir, "29991231000000_broken", "migration.sql"), "CREATE TABLE half_written (id int);\nSELECT * FROM no_such_table;\n");
    try {
      const error = await applyMigrations(pgliteExecutor(db), { migrationsDir: dir }).catch((e: unknown) => e);
      expect(isStratumError(error, "MIGRATION_FAILED")).toBe(true);
      const table = await db.query<{ t: string | null }>(`SELECT to_regclass('public.half_written')::text AS t`);
      expect(table.rows[0]?.t).toBeNull();
    } finally {
      await db.close();
    }
  });
});
