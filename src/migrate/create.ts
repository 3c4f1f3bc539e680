/**
 * `migrate dev --create-only` without the native engine: the SQL that takes a database with every
 * existing migration applied to the current Prisma schema. The existing migrations are replayed
 * by stratum's runner into a scratch ("shadow") database, which is dropped afterwards, and the WASM
 * schema engine diffs that database against the schema.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
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
}

/** The next migration's SQL, or '' when the migrations already match the schema. */
export async function nextMigrationSql(options: CreateMigrationOptions): Promise<string> {
  const shadow = `stratum_shadow_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${shadow}"`);
    try {
      const url = new URL(options.adminUrl);
      url.pathname = `/${shadow}`;
      await applyMigrationsToUrl(url.toString(), options.log ? { migrationsDir: options.migrationsDir, log: options.log } : { migrationsDir: options.migrationsDir });
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

/** Writes `<migrationsDir>/<timestamp>_<name>/migration.sql`; returns its folder name, or null when there is nothing to migrate. */
export async function createMigration(options: CreateMigrationOptions & { name: string }): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(options.name)) throw new StratumError("MIGRATION_FAILED", `migration name must match [a-z0-9_]+, got ${JSON.stringify(options.name)}`, { name: options.name });
  const sql = await nextMigrationSql(options);
  if (sql === "") return null;
  const folder = `${migrationTimestamp()}_${options.name}`;
  mkdirSync(join(options.migrationsDir, folder), { recursive: true });
  writeFileSync(join(options.migrationsDir, folder, "migration.sql"), sql);
  return folder;
}
