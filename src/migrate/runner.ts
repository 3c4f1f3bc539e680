/**
 * Applies `prisma/migrations/<name>/migration.sql` in name order with Prisma's own
 * `_prisma_migrations` bookkeeping, so a machine that has the native engine sees the same
 * history (`prisma migrate deploy` treats these migrations as applied).
 *
 * - One session advisory lock (Prisma's own key) serialises concurrent runners, and a runner
 *   against `prisma migrate deploy`.
 * - Each migration runs in its own transaction together with its bookkeeping row. A failure
 *   rolls the migration back entirely; the attempt is then recorded with its log and marked
 *   rolled back (nothing of it remains, so the next run, or `migrate deploy`, retries it).
 * - The checksum is the sha256 hex of the file, as Prisma computes it. A changed checksum of an
 *   applied migration is an error unless `allowChanged`.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { StratumError } from "../core/errors.js";

/** The one connection migrations run on. */
export interface MigrationExecutor {
  /** Rows of one parameterised statement. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
}

/** A single `pg` connection (a `Client` or a checked-out `PoolClient`; never a `Pool`). */
export function pgExecutor(client: pg.Client | pg.PoolClient): MigrationExecutor {
  return {
    async query<T>(sql: string, params?: readonly unknown[]) {
      const result = await client.query(sql, params ? [...params] : undefined);
      return result.rows as T[];
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

/** The part of `@electric-sql/pglite`'s `PGlite` the runner uses. */
export interface PGliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
}

/** An embedded PGlite database (create it with the ltree contrib: `extensions: { ltree }`). */
export function pgliteExecutor(db: PGliteLike): MigrationExecutor {
  return {
    async query<T>(sql: string, params?: readonly unknown[]) {
      return (await db.query<T>(sql, params ? [...params] : undefined)).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

export interface ApplyMigrationsOptions {
  /** Folder holding `<name>/migration.sql` (Prisma's layout). */
  migrationsDir: string;
  log?: (line: string) => void;
  /** Report, rather than refuse, applied migrations whose file changed since. */
  allowChanged?: boolean;
  /** Folders to leave out (createMigration replays without the security migrations it moves after the new one). */
  skip?: ReadonlySet<string>;
}

export interface ApplyMigrationsResult {
  applied: string[];
  alreadyApplied: string[];
  /** Applied migrations whose file no longer matches the recorded checksum (with `allowChanged`). */
  changed: string[];
}

export interface MigrationFileInfo {
  name: string;
  path: string;
  sql: string;
  checksum: string;
}

/** Prisma's advisory lock key for migrations (prisma-engines, sql-migration-connector). */
export const MIGRATIONS_LOCK_KEY = 72707369;

/** The bookkeeping table exactly as Prisma's PostgreSQL connector creates it. */
export const PRISMA_MIGRATIONS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`;

export function checksumOf(sql: string): string {
  return createHash("sha256").update(sql, "utf8").digest("hex");
}

/** The migration folders, in name order. */
export function listMigrations(migrationsDir: string): MigrationFileInfo[] {
  if (!existsSync(migrationsDir)) return [];
  return readdirSync(migrationsDir)
    .filter((name) => statSync(join(migrationsDir, name)).isDirectory() && existsSync(join(migrationsDir, name, "migration.sql")))
    .sort()
    .map((name) => {
      const path = join(migrationsDir, name, "migration.sql");
      const sql = readFileSync(path, "utf8");
      return { name, path, sql, checksum: checksumOf(sql) };
    });
}

interface MigrationRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: Date | string | null;
  rolled_back_at: Date | string | null;
  logs: string | null;
}

export async function applyMigrations(executor: MigrationExecutor, options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const log = options.log ?? (() => undefined);
  const migrations = listMigrations(options.migrationsDir).filter((m) => !options.skip?.has(m.name));
  const result: ApplyMigrationsResult = { applied: [], alreadyApplied: [], changed: [] };
  await executor.query(`SELECT pg_advisory_lock(${MIGRATIONS_LOCK_KEY})`);
  try {
    await executor.exec(PRISMA_MIGRATIONS_TABLE_SQL);
    const rows = await executor.query<MigrationRow>(
      `SELECT id, migration_name, checksum, finished_at, rolled_back_at, logs FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
    );
    const finished = new Map<string, MigrationRow>();
    const failed = new Map<string, MigrationRow>();
    for (const row of rows) {
      if (row.rolled_back_at !== null) continue;
      if (row.finished_at !== null) finished.set(row.migration_name, row);
      else failed.set(row.migration_name, row);
    }

    for (const migration of migrations) {
      const done = finished.get(migration.name);
      if (done) {
        result.alreadyApplied.push(migration.name);
        if (done.checksum !== migration.checksum) {
          if (!options.allowChanged) {
            throw new StratumError(
              "MIGRATION_FAILED",
              `Migration "${migration.name}" was modified after it was applied (checksum ${done.checksum.slice(0, 12)}… in _prisma_migrations, ${migration.checksum.slice(0, 12)}… on disk). ` +
                `Restore ${migration.path} to the applied version and put the change in a new migration, or pass allowChanged to accept it.`,
              { migration: migration.name, recordedChecksum: done.checksum, fileChecksum: migration.checksum },
            );
          }
          result.changed.push(migration.name);
          log(`! ${migration.name}: file changed since it was applied (accepted: allowChanged)`);
        }
        continue;
      }
      const stuck = failed.get(migration.name);
      if (stuck) {
        throw new StratumError(
          "MIGRATION_FAILED",
          `Migration "${migration.name}" is recorded as started but not finished, outside stratum's runner (which always rolls back). ` +
            `Part of it may be applied. Inspect the database, then run \`prisma migrate resolve --rolled-back ${migration.name}\` (or --applied) and migrate again.`,
          { migration: migration.name, logs: stuck.logs },
        );
      }
      await applyOne(executor, migration, log);
      result.applied.push(migration.name);
    }
    if (result.applied.length === 0) log(`migrations up to date (${result.alreadyApplied.length} applied)`);
    return result;
  } finally {
    await executor.query(`SELECT pg_advisory_unlock(${MIGRATIONS_LOCK_KEY})`).catch(() => undefined);
  }
}

async function applyOne(executor: MigrationExecutor, migration: MigrationFileInfo, log: (line: string) => void): Promise<void> {
  const id = randomUUID();
  log(`applying ${migration.name}`);
  await executor.exec("BEGIN");
  try {
    await executor.exec(migration.sql);
    await executor.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
      [id, migration.checksum, migration.name],
    );
    await executor.exec("COMMIT");
  } catch (error) {
    await executor.exec("ROLLBACK").catch(() => undefined);
    const description = describeFailure(migration, error);
    await executor
      .query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, rolled_back_at, applied_steps_count)
         VALUES ($1, $2, $3, $4, now(), now(), 0)`,
        [id, migration.checksum, migration.name, description.log],
      )
      .catch(() => undefined);
    throw new StratumError("MIGRATION_FAILED", description.message, description.details, { cause: error });
  }
  log(`applied ${migration.name}`);
}

interface PgErrorLike {
  message?: string;
  code?: string;
  position?: string | number;
  detail?: string;
  hint?: string;
}

function describeFailure(migration: MigrationFileInfo, error: unknown): { message: string; log: string; details: Record<string, unknown> } {
  const e = (typeof error === "object" && error !== null ? error : { message: String(error) }) as PgErrorLike;
  const reason = e.message ?? String(error);
  let where = "";
  let statement: string | undefined;
  const position = e.position === undefined ? NaN : Number(e.position);
  if (Number.isFinite(position) && position > 0) {
    const before = migration.sql.slice(0, position - 1);
    const line = before.split("\n").length;
    statement = statementAt(migration.sql, position - 1);
    where = ` at line ${line}`;
  }
  const code = e.code ? ` (SQLSTATE ${e.code})` : "";
  const extra = [e.detail ? `Detail: ${e.detail}` : "", e.hint ? `Hint: ${e.hint}` : ""].filter(Boolean).join(" ");
  const message =
    `Migration "${migration.name}" failed${where}: ${reason}${code}.${extra ? ` ${extra}` : ""}` +
    (statement ? ` Statement: ${statement}` : "") +
    ` Nothing of it was applied (its transaction was rolled back). Fix ${migration.path} (or add a migration before it) and run the migrations again.`;
  const log = [`stratum runner: ${reason}${code}${where}`, extra, statement ? `statement: ${statement}` : ""].filter(Boolean).join("\n");
  return { message, log, details: { migration: migration.name, sqlState: e.code, position: e.position, statement } };
}

/** Start offsets of the statements of a script (quotes, comments and $tag$ bodies respected). */
export function statementStarts(sql: string): number[] {
  const starts = [0];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === c) {
          if (sql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      i = j + 1;
    } else if (c === "$") {
      const tag = /^\$[A-Za-z_][A-Za-z0-9_]*\$|^\$\$/.exec(sql.slice(i, i + 64));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? sql.length : end + tag[0].length;
      } else i++;
    } else if (c === ";") {
      starts.push(i + 1);
      i++;
    } else i++;
  }
  return starts;
}

/** The statement around a character offset, trimmed for messages. */
function statementAt(sql: string, offset: number): string {
  const starts = statementStarts(sql);
  let start = 0;
  let end = sql.length;
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k] ?? 0;
    if (s <= offset) {
      start = s;
      end = starts[k + 1] ?? sql.length;
    }
  }
  const text = sql
    .slice(start, end)
    .split("\n")
    .filter((line) => !line.trim().startsWith("--"))
    .join(" ")
    .replace(/\s+/g, " ")
    .trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Applies the migrations to the database at `url` on one connection of its own. */
export async function applyMigrationsToUrl(url: string, options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined); // the statement in flight fails on its own
  await client.connect();
  try {
    return await applyMigrations(pgExecutor(client), options);
  } finally {
    await client.end().catch(() => undefined);
  }
}
