/**
 * `stratum-prisma migrate`: applies the migrations with stratum's runner (no native engine) as the
 * owner role and installs the scope key, so a fresh database is ready for the app role.
 * `stratum-prisma migrate new <name>`: writes the next table migration from the schema (what
 * `prisma migrate dev --create-only` does, through the WebAssembly schema engine), keeping the
 * security migration after the tables it secures.
 *
 * The scope key must reach the app; a key generated here and only installed in the database would
 * be lost. With no key given and none installed, `migrate` generates one and appends
 * `STRATUM_SCOPE_KEY=…` to the project's `.env` (which the CLI reads), or prints it once when that
 * file already names a different key.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import pg from "pg";
import { StratumError } from "../core/errors.js";
import { assertScopeKey, INSTALL_SCOPE_KEY_SQL, RETIRE_PREVIOUS_SCOPE_KEY_SQL } from "../isolation/scope.js";
import { applyMigrations, listMigrations, pgExecutor } from "../migrate/index.js";
import { appliedMigrationNames, createMigration } from "../migrate/create.js";
import { resolveMigrationsDir, resolveSchemaDir } from "./init.js";
import { migrateHomes, parseServers } from "./migrate-homes.js";
import { interactiveOutput } from "./migrate-progress.js";
import { DEFAULT_MODELS, pickModule } from "./project-module.js";

export interface MigrateOptions {
  url: string;
  migrations: string;
  scopeKey?: string;
  /** No key given and none installed yet: generate one (returned as `generatedScopeKey`). */
  generateScopeKey?: boolean;
  /** End a key rotation: tokens signed with the previous key stop matching. */
  retirePreviousKey?: boolean;
  /** The role the app connects as (reported when it cannot log in yet). Default stratum_app. */
  appRole?: string;
  log?: (line: string) => void;
}

export interface MigrateResult {
  applied: string[];
  scopeKeyInstalled: boolean;
  previousKeyRetired: boolean;
  /** The key generated and installed because none was given or installed. */
  generatedScopeKey?: string;
  /** False when the app role exists but has no login yet (the migration creates it NOLOGIN). */
  appRoleCanLogin: boolean | undefined;
}

function databaseName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  } catch {
    return "";
  }
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    if ((error as { code?: string }).code === "3D000") {
      const name = databaseName(url);
      throw new StratumError(
        "VALIDATION_FAILED",
        `Database "${name}" does not exist: create it first (\`createdb ${name}\`, or CREATE DATABASE ${name}; as the owner), then migrate again.`,
        undefined,
        { cause: error },
      );
    }
    throw new StratumError("VALIDATION_FAILED", `Cannot connect to the owner URL: ${(error as Error).message}.`, undefined, { cause: error });
  }
  return client;
}

export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const log = options.log ?? (() => undefined);
  const client = await connect(options.url);
  try {
    const result = await applyMigrations(pgExecutor(client), { migrationsDir: options.migrations, log });
    let scopeKey = options.scopeKey;
    let generatedScopeKey: string | undefined;
    if (scopeKey === undefined && options.generateScopeKey) {
      const installed = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM public.stratum_scope_keys").catch(() => undefined);
      if (installed && installed.rows[0]?.n === 0) scopeKey = generatedScopeKey = randomBytes(32).toString("hex");
    }
    let scopeKeyInstalled = false;
    if (scopeKey !== undefined) {
      assertScopeKey(scopeKey);
      await client.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
      scopeKeyInstalled = true;
    }
    const previousKeyRetired = options.retirePreviousKey === true && ((await client.query(RETIRE_PREVIOUS_SCOPE_KEY_SQL)).rowCount ?? 0) > 0;
    const role = await client.query<{ rolcanlogin: boolean }>("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", [options.appRole ?? "stratum_app"]);
    return {
      applied: result.applied,
      scopeKeyInstalled,
      previousKeyRetired,
      ...(generatedScopeKey ? { generatedScopeKey } : {}),
      appRoleCanLogin: role.rows[0]?.rolcanlogin,
    };
  } finally {
    await client.end();
  }
}

/** Appends `NAME=value` to the env file unless it already sets NAME; false when it does. */
export function appendEnvVariable(file: string, name: string, value: string): boolean {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (new RegExp(`^\\s*(export\\s+)?${name}\\s*=`, "m").test(text)) return false;
  appendFileSync(file, `${text === "" || text.endsWith("\n") ? "" : "\n"}${name}=${value}\n`);
  return true;
}

function ownerUrl(flag: string | undefined): string {
  const url = flag ?? process.env.STRATUM_OWNER_URL ?? process.env.DATABASE_URL;
  if (!url) throw new StratumError("VALIDATION_FAILED", "No database: pass --url or set STRATUM_OWNER_URL (or DATABASE_URL) to the owner role's URL.");
  return url;
}

const MIGRATE_HELP = `
Environment (a flag wins; the CLI also reads .env in the working directory):
  STRATUM_OWNER_URL, else DATABASE_URL   --url        the owner role (creates tables, policies, the app role)
  STRATUM_SCOPE_KEY                      --scope-key  (none given and none installed: one is generated and appended to .env)

Examples:
  $ npx stratum-prisma migrate new init --url postgresql://postgres@localhost:5432/app
  $ npx stratum-prisma migrate --url postgresql://postgres@localhost:5432/app
  $ STRATUM_SCOPE_KEY=$(openssl rand -hex 32) npx stratum-prisma migrate   # rotate: the old key works until --retire-previous-key
  $ npx stratum-prisma migrate --dry-run --server eu=postgresql://owner@eu-db/postgres   # what would run, changing nothing

Tenant homes: after the main database, every SCHEMA and DATABASE tenant's home is brought level with
it (missing tables, columns, indexes added; RLS and grants re-applied), --concurrency homes at a time
per server. Homes already level are skipped after one catalog check. A failing home is listed and
the others go on (exit code 1); run again to retry it. DATABASE tenants' servers come from --server
or STRATUM_SERVERS ("eu=postgresql://…,us=postgresql://…"); the tenant tables from --models.
`;

const MIGRATE_NEW_HELP = `
Replays the existing migrations into a scratch database on the same server (created and dropped
with the --url role, which needs CREATEDB), diffs it against the schema with Prisma's WebAssembly
schema engine and writes <migrations>/<timestamp>_<name>/migration.sql. A security migration that
\`prisma generate\` wrote before these tables existed, and that is not applied yet, is renamed to
sort after the new migration.

Example:
  $ npx stratum-prisma migrate new add_invoices --url postgresql://postgres@localhost:5432/app
`;

interface MigrateCommandOptions {
  url?: string;
  migrations?: string;
  scopeKey?: string;
  envFile: string;
  appRole: string;
  retirePreviousKey?: boolean;
  dryRun?: boolean;
  homes: boolean;
  server?: string[];
  models?: string;
  concurrency: number;
  verify?: boolean;
  tenant?: string[];
  lockTimeout: number;
}

function homesOptions(url: string, opts: MigrateCommandOptions, dryRun: boolean): Parameters<typeof migrateHomes>[0] {
  return {
    url,
    servers: parseServers(opts.server ?? (process.env.STRATUM_SERVERS ? [process.env.STRATUM_SERVERS] : [])),
    modelsModule: pickModule(opts.models, DEFAULT_MODELS),
    appRole: opts.appRole,
    concurrency: opts.concurrency,
    ...(opts.verify ? { verify: true } : {}),
    ...(opts.tenant ? { tenantIds: opts.tenant } : {}),
    lockTimeoutMs: opts.lockTimeout,
    dryRun,
    progress: process.stderr,
    interactive: interactiveOutput(process.stderr),
    log: (l) => console.log(l),
  };
}

/** `migrate --dry-run`: the main database's pending migrations, then each home's plan against the template as it is now. */
async function dryRun(url: string, opts: MigrateCommandOptions): Promise<void> {
  const applied = await appliedMigrationNames(url);
  const pending = listMigrations(resolveMigrationsDir(process.cwd(), opts.migrations)).filter((m) => !applied.has(m.name));
  console.log(pending.length ? `would apply ${pending.length} migration(s): ${pending.map((m) => m.name).join(", ")}` : "main database: no pending migration");
  if (!opts.homes) return;
  if (pending.length) console.log("homes: planned against the main database as it is now (the pending migrations are not in it yet)");
  await migrateHomes(homesOptions(url, opts, true));
}

export function registerMigrate(program: Command): void {
  const command = program
    .command("migrate")
    .description("apply the migrations as the owner role and install the scope key; `migrate new <name>` writes the next migration")
    .option("--url <url>", "owner connection URL (default: STRATUM_OWNER_URL, else DATABASE_URL)")
    .option("--migrations <dir>", "migrations folder (default: `migrations.path` in prisma.config.ts, else prisma/migrations)")
    .option("--scope-key <key>", "scope key to install (default: STRATUM_SCOPE_KEY; with neither, and none installed, one is generated into --env-file)")
    .option("--env-file <file>", "where a generated scope key is written", ".env")
    .option("--app-role <role>", "the app role, to report whether it can log in", "stratum_app")
    .option("--retire-previous-key", "end a scope key rotation: only the current key's scopes are accepted from now on")
    .option("--dry-run", "list the migrations and the tenant homes' changes that would run; change nothing")
    .option("--no-homes", "migrate the main database only, not the SCHEMA and DATABASE tenants' homes")
    .option("--server <name=url...>", "a server of DATABASE tenants (repeatable; default: STRATUM_SERVERS)")
    .option("--models <module>", "module exporting stratumModels (default: generated/stratum/index.{js,ts})")
    .option("--concurrency <n>", "tenant homes migrated at once per server", (v) => Number.parseInt(v, 10), 4)
    .option("--verify", "open and check every tenant home, even those whose marker says they are current")
    .option("--tenant <id...>", "only these tenants' homes (checked in full)")
    .option(
      "--lock-timeout <ms>",
      "how long a home's DDL waits for a table lock before that home fails (retried next run)",
      (v) => Number.parseInt(v, 10),
      10_000,
    )
    .addHelpText("after", MIGRATE_HELP)
    .action(async (opts: MigrateCommandOptions) => {
      const url = ownerUrl(opts.url);
      if (opts.dryRun) return dryRun(url, opts);
      const scopeKey = opts.scopeKey ?? (process.env.STRATUM_SCOPE_KEY || undefined);
      const result = await migrate({
        url,
        migrations: resolveMigrationsDir(process.cwd(), opts.migrations),
        ...(scopeKey ? { scopeKey } : { generateScopeKey: true }),
        retirePreviousKey: opts.retirePreviousKey === true,
        appRole: opts.appRole,
        log: (l) => console.log(l),
      });
      console.log(
        `applied ${result.applied.length} migration(s)` +
          (result.generatedScopeKey
            ? "; a new scope key was generated and installed"
            : result.scopeKeyInstalled
              ? "; scope key installed (a different previous key stays accepted until --retire-previous-key)"
              : "; STRATUM_SCOPE_KEY not set, scope key unchanged") +
          (result.previousKeyRetired ? "; previous scope key retired" : ""),
      );
      if (result.generatedScopeKey) {
        const envFile = resolve(opts.envFile);
        if (appendEnvVariable(envFile, "STRATUM_SCOPE_KEY", result.generatedScopeKey)) {
          console.log(
            `stratum-prisma: wrote STRATUM_SCOPE_KEY to ${relative(process.cwd(), envFile) || envFile}. Your app needs it (stratum({ scopeKey })); keep it secret and out of git.`,
          );
        } else {
          console.log(
            [
              "",
              "================================ SCOPE KEY (shown once) ================================",
              `STRATUM_SCOPE_KEY=${result.generatedScopeKey}`,
              `${opts.envFile} already sets STRATUM_SCOPE_KEY to another value: replace it with this one.`,
              "=========================================================================================",
            ].join("\n"),
          );
        }
      }
      if (result.appRoleCanLogin === false) {
        console.log(`next: give the app role a login: psql "$STRATUM_OWNER_URL" -c "ALTER ROLE ${opts.appRole} LOGIN PASSWORD '…'"`);
      }
      if (opts.homes) await migrateHomes(homesOptions(url, opts, false));
    });

  command
    .command("new <name>")
    .description("write the next migration from the schema (no native engine needed)")
    .option("--url <url>", "owner URL on the server where a scratch database may be created (default: STRATUM_OWNER_URL, else DATABASE_URL)")
    .option("--schema <dir>", "Prisma schema folder (default: `schema` in prisma.config.ts, else prisma/schema)")
    .option("--migrations <dir>", "migrations folder (default: `migrations.path` in prisma.config.ts, else next to the schema folder)")
    .addHelpText("after", MIGRATE_NEW_HELP)
    .action(async (name: string, opts: { url?: string; schema?: string; migrations?: string }) => {
      // Options named like the parent's (--url, --migrations) land on the parent: read both.
      const parent = command.opts<{ url?: string; migrations?: string }>();
      const cwd = process.cwd();
      const url = ownerUrl(opts.url ?? parent.url);
      const migrations = opts.migrations ?? parent.migrations;
      const schemaDir = resolveSchemaDir(cwd, opts.schema);
      const migrationsDir = resolveMigrationsDir(cwd, migrations, schemaDir);
      const created = await createMigration({ adminUrl: url, migrationsDir, schemaDir, name });
      if (!created) {
        console.log("stratum-prisma: no schema changes, no migration written");
        return;
      }
      console.log(`stratum-prisma: wrote ${relative(cwd, join(migrationsDir, created.folder, "migration.sql"))}`);
      for (const [from, to] of created.moved) console.log(`stratum-prisma: renamed ${from} to ${to} (the security migration runs after the tables it secures)`);
    });
}
