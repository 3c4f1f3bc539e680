/**
 * `migrate dev --create-only` without the native engine: the SQL that takes a database with every
 * existing migration applied to the current Prisma schema. The existing migrations are replayed
 * by stratum's runner into a scratch ("shadow") database, which is dropped afterwards, and the WASM
 * schema engine diffs that database against the schema.
 *
 * The security migration (written by stratum's generator on `prisma generate`) alters the tables
 * it secures, so it must sort after them. When `generate` ran before the tables' migration
 * existed, the trailing security migration(s) not yet applied to the project's database are left
 * out of the replay and re-stamped after the new migration (renamed: the timestamp is the order).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { StratumError } from "../core/errors.js";
import { applyMigrationsToUrl } from "./runner.js";
import { driftSql } from "./schema-engine.js";

export interface CreateMigrationOptions {
  /** A URL whose user may CREATE DATABASE (the shadow database is created and dropped there). */
  adminUrl: string;
  migrationsDir: string;
  schemaDir: string;
  log?: (line: string) => void;
  /** Migration folders left out of the replay. */
  skip?: ReadonlySet<string>;
  /**
   * Names already applied to the project's database (`_prisma_migrations`): such a security
   * migration is history and never moved. Default: read from `adminUrl`'s database, if it has the table.
   */
  applied?: ReadonlySet<string>;
}

export const SECURITY_MIGRATION_SUFFIX = "_stratum_security";
const MIGRATION_FOLDER = /^(\d{14})_/;

/** Migration folder names, sorted (the order they are applied in). */
function migrationFolders(migrationsDir: string): string[] {
  if (!existsSync(migrationsDir)) return [];
  return readdirSync(migrationsDir)
    .filter((name) => MIGRATION_FOLDER.test(name) && statSync(join(migrationsDir, name)).isDirectory())
    .sort();
}

/** The security migrations at the end of the list (after the last other migration) that `applied` lacks. */
export function movableSecurityMigrations(folders: readonly string[], applied: ReadonlySet<string>): string[] {
  const movable: string[] = [];
  for (let i = folders.length - 1; i >= 0; i--) {
    const name = folders[i] as string;
    if (!name.endsWith(SECURITY_MIGRATION_SUFFIX) || applied.has(name)) break;
    movable.unshift(name);
  }
  return movable;
}

/** Names recorded as applied in `url`'s `_prisma_migrations` (none when the database or table is missing). */
export async function appliedMigrationNames(url: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined); // the statement in flight fails on its own
  try {
    await client.connect();
    const table = await client.query<{ exists: boolean }>("SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS exists");
    if (!table.rows[0]?.exists) return new Set();
    const rows = await client.query<{ migration_name: string }>(
      "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    );
    return new Set(rows.rows.map((r) => r.migration_name));
  } catch (error) {
    if ((error as { code?: string }).code === "3D000") return new Set(); // the database is not created yet: nothing applied
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function stampToDate(value: string): Date {
  const n = (from: number, to: number): number => Number(value.slice(from, to));
  return new Date(Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14)));
}

/** A stamp later than `now` and than every folder in `after`. */
function nextStamp(after: readonly string[], now: Date): Date {
  const newest = after
    .map((n) => MIGRATION_FOLDER.exec(n)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort()
    .pop();
  if (newest && newest >= migrationTimestamp(now)) return new Date(stampToDate(newest).getTime() + 1000);
  return now;
}

/** The next migration's SQL, or '' when the migrations already match the schema. */
export async function nextMigrationSql(options: CreateMigrationOptions): Promise<string> {
  const shadow = `stratum_shadow_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: options.adminUrl });
  admin.on("error", () => undefined); // the statement in flight fails on its own
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${shadow}"`);
    try {
      const url = new URL(options.adminUrl);
      url.pathname = `/${shadow}`;
      await applyMigrationsToUrl(url.toString(), {
        migrationsDir: options.migrationsDir,
        ...(options.log ? { log: options.log } : {}),
        ...(options.skip ? { skip: options.skip } : {}),
      });
      return await driftSql(url.toString(), options.schemaDir);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${shadow}" WITH (FORCE)`).catch(() => undefined);
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** `YYYYMMDDHHMMSS`, as Prisma names migration folders. */
export function migrationTimestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

export interface CreatedMigration {
  /** The folder written. */
  folder: string;
  /** Security migrations renamed to sort after it: `[from, to]`. */
  moved: Array<[string, string]>;
}

const MIGRATION_LOCK = '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n';

/**
 * Writes `<migrationsDir>/<timestamp>_<name>/migration.sql` with the schema changes since the last
 * migration, and moves not-yet-applied trailing security migrations after it. Null when there is
 * nothing to migrate (and then nothing moves).
 */
export async function createMigration(options: CreateMigrationOptions & { name: string }): Promise<CreatedMigration | null> {
  if (!/^[a-z0-9_]+$/.test(options.name))
    throw new StratumError("MIGRATION_FAILED", `migration name must match [a-z0-9_]+, got ${JSON.stringify(options.name)}`, { name: options.name });
  const folders = migrationFolders(options.migrationsDir);
  const applied = options.applied ?? (await appliedMigrationNames(options.adminUrl));
  const movable = movableSecurityMigrations(folders, applied);
  const skip = new Set([...(options.skip ?? []), ...movable]);
  const sql = await nextMigrationSql({ ...options, skip });
  if (sql === "") return null;
  const kept = folders.filter((f) => !movable.includes(f));
  let when = nextStamp(kept, new Date());
  const folder = `${migrationTimestamp(when)}_${options.name}`;
  mkdirSync(join(options.migrationsDir, folder), { recursive: true });
  writeFileSync(join(options.migrationsDir, folder, "migration.sql"), sql);
  const lock = join(options.migrationsDir, "migration_lock.toml");
  if (!existsSync(lock)) writeFileSync(lock, MIGRATION_LOCK);
  const moved: Array<[string, string]> = [];
  for (const from of movable) {
    when = new Date(when.getTime() + 1000);
    const to = `${migrationTimestamp(when)}${SECURITY_MIGRATION_SUFFIX}`;
    renameSync(join(options.migrationsDir, from), join(options.migrationsDir, to));
    moved.push([from, to]);
  }
  return { folder, moved };
}
