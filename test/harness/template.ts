/**
 * The template database every test database is cloned from: `stratum_tpl_<hash>`, where the hash
 * covers the migrations, the Prisma schema and this harness's version. Built once (under an
 * advisory lock, so concurrent runs on one cluster build it once) as `stratum_owner` with every
 * migration in prisma/migrations applied by stratum's runner; reused while the hash matches.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { applyMigrationsToUrl, listMigrations } from "../../src/migrate/runner.js";
import { readSchemaFiles } from "../../src/migrate/schema-engine.js";
import { withDatabase } from "./postgres.js";
import { OWNER_ROLE, ownerUrlOf } from "./roles.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const MIGRATIONS_DIR = join(ROOT, "prisma", "migrations");
export const SCHEMA_DIR = join(ROOT, "prisma", "schema");

/** Bump when the template's contents change for reasons the hash cannot see. */
const HARNESS_VERSION = "1";
const TEMPLATE_LOCK = "stratum_test_template";
/** Old templates and leftover test databases are dropped only after this long, since another run
 * (another engineer, another checkout) may still be cloning them. */
const STALE_TEMPLATE_MS = 30 * 60_000;
const STALE_TEST_DB_MS = 3 * 60 * 60_000;

export const TEMPLATE_PREFIX = "stratum_tpl_";
// Not `stratum_t_`: DATABASE tenants' homes are `stratum_t_<hex>`, and stale test databases are force-dropped.
export const TEST_DB_PREFIX = "stratum_test_";

export function templateHash(): string {
  const hash = createHash("sha256").update(`harness ${HARNESS_VERSION}\0`);
  for (const m of listMigrations(MIGRATIONS_DIR)) hash.update(m.name).update("\0").update(m.checksum).update("\0");
  for (const f of readSchemaFiles(SCHEMA_DIR)) hash.update(f.path).update("\0").update(f.content).update("\0");
  return hash.digest("hex").slice(0, 16);
}

export function createdComment(kind: string): string {
  return `${kind} created=${new Date().toISOString()}`;
}

function createdAt(comment: string | null): number {
  const match = comment?.match(/created=(\S+)/);
  const time = match?.[1] ? Date.parse(match[1]) : NaN;
  return Number.isFinite(time) ? time : 0;
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe database name ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** Builds or reuses the template; returns its name. */
export async function ensureTemplate(adminUrl: string, log: (line: string) => void = () => undefined): Promise<string> {
  const name = `${TEMPLATE_PREFIX}${templateHash()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query("SELECT pg_advisory_lock(hashtext($1))", [TEMPLATE_LOCK]);
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) {
      const building = `stratum_tplb_${randomBytes(6).toString("hex")}`;
      await admin.query(`CREATE DATABASE ${quoteIdent(building)} OWNER ${OWNER_ROLE}`);
      try {
        const result = await applyMigrationsToUrl(withDatabase(ownerUrlOf(adminUrl), building), { migrationsDir: MIGRATIONS_DIR, log });
        log(`template ${name}: applied ${result.applied.join(", ") || "no migrations"}`);
        await admin.query(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(name)}`);
        await admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS '${createdComment("stratum test template")}'`);
      } catch (error) {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(building)} WITH (FORCE)`).catch(() => undefined);
        throw error;
      }
    } else {
      log(`template ${name}: reused`);
    }
    await dropStale(admin, name, log);
    return name;
  } finally {
    await admin.query("SELECT pg_advisory_unlock(hashtext($1))", [TEMPLATE_LOCK]).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}

async function dropStale(admin: pg.Client, keep: string, log: (line: string) => void): Promise<void> {
  const { rows } = await admin.query<{ datname: string; comment: string | null }>(
    `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database
      WHERE datname LIKE 'stratum\\_tpl%' OR datname LIKE 'stratum\\_test\\_%'`,
  );
  const now = Date.now();
  for (const { datname, comment } of rows) {
    if (datname === keep) continue;
    const isTestDb = datname.startsWith(TEST_DB_PREFIX);
    const age = now - createdAt(comment);
    if (age < (isTestDb ? STALE_TEST_DB_MS : STALE_TEMPLATE_MS)) continue;
    try {
      // Templates: never force (a run may be cloning it); leftover test databases: force.
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)}${isTestDb ? " WITH (FORCE)" : ""}`);
      log(`dropped stale ${datname}`);
    } catch {
      // in use: try again next run
    }
  }
}

/** Writes the run's scope key into a database, as its owner. */
export async function writeScopeKey(ownerDbUrl: string, key: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerDbUrl });
  await client.connect();
  try {
    await client.query("INSERT INTO stratum_scope_keys (id, key) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key", [key]);
  } finally {
    await client.end().catch(() => undefined);
  }
}
