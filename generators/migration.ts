/**
 * Writing the security migration next to Prisma's own. A new `<timestamp>_stratum_security`
 * folder appears only when the SQL differs from the newest existing one, so `prisma generate`
 * with no schema change writes nothing. Its timestamp sorts after every existing migration: the
 * SQL alters tables those migrations create.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SECURITY_MIGRATION_SUFFIX = "_stratum_security";
const MIGRATION_DIR = /^(\d{14})_/;

function stamp(date: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

function parseStamp(value: string): Date {
  const n = (from: number, to: number): number => Number(value.slice(from, to));
  return new Date(Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14)));
}

/** Migration folder names in `dir`, sorted (Prisma applies them in this order). */
export function listMigrations(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && MIGRATION_DIR.test(e.name))
    .map((e) => e.name)
    .sort();
}

/** The SQL of the newest `*_stratum_security` migration, or undefined when there is none. */
export function latestSecuritySql(dir: string): string | undefined {
  const latest = listMigrations(dir)
    .filter((n) => n.endsWith(SECURITY_MIGRATION_SUFFIX))
    .pop();
  if (!latest) return undefined;
  const file = join(dir, latest, "migration.sql");
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

export interface WriteResult {
  /** The folder written, or null when the newest security migration already holds this SQL. */
  written: string | null;
}

export function writeSecurityMigration(dir: string, sql: string, now: Date = new Date()): WriteResult {
  if (latestSecuritySql(dir) === sql) return { written: null };
  let when = now;
  const newest = listMigrations(dir).pop();
  const newestStamp = newest?.match(MIGRATION_DIR)?.[1];
  if (newestStamp && newestStamp >= stamp(when)) when = new Date(parseStamp(newestStamp).getTime() + 1000);
  const name = `${stamp(when)}${SECURITY_MIGRATION_SUFFIX}`;
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "migration.sql"), sql);
  return { written: folder };
}
