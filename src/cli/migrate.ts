/**
 * `stratum migrate`: applies prisma/migrations with stratum's runner (no native engine needed)
 * as the owner role, then installs the scope key, so a fresh database is ready for the app role.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import pg from "pg";
import { StratumError } from "../core/errors.js";
import { assertScopeKey, INSTALL_SCOPE_KEY_SQL, RETIRE_PREVIOUS_SCOPE_KEY_SQL } from "../isolation/scope.js";
import { applyMigrations, pgExecutor } from "../migrate/index.js";

export interface MigrateOptions {
  url: string;
  migrations: string;
  scopeKey?: string;
  /** End a key rotation: tokens signed with the previous key stop matching. */
  retirePreviousKey?: boolean;
  log?: (line: string) => void;
}

export async function migrate(options: MigrateOptions): Promise<{ applied: string[]; scopeKeyInstalled: boolean; previousKeyRetired: boolean }> {
  const log = options.log ?? (() => undefined);
  const client = new pg.Client({ connectionString: options.url });
  await client.connect();
  try {
    const result = await applyMigrations(pgExecutor(client), { migrationsDir: options.migrations, log });
    let scopeKeyInstalled = false;
    if (options.scopeKey !== undefined) {
      assertScopeKey(options.scopeKey);
      await client.query(INSTALL_SCOPE_KEY_SQL, [options.scopeKey]);
      scopeKeyInstalled = true;
    }
    const previousKeyRetired = options.retirePreviousKey === true && ((await client.query(RETIRE_PREVIOUS_SCOPE_KEY_SQL)).rowCount ?? 0) > 0;
    return { applied: result.applied, scopeKeyInstalled, previousKeyRetired };
  } finally {
    await client.end();
  }
}

export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("apply prisma/migrations as the owner role and install the scope key (STRATUM_SCOPE_KEY)")
    .option("--url <url>", "owner connection URL (default: STRATUM_OWNER_URL or DATABASE_URL)")
    .option("--migrations <dir>", "migrations folder", "prisma/migrations")
    .option("--retire-previous-key", "end a scope key rotation: only the current key's scopes are accepted from now on")
    .action(async (opts: { url?: string; migrations: string; retirePreviousKey?: boolean }) => {
      const url = opts.url ?? process.env.STRATUM_OWNER_URL ?? process.env.DATABASE_URL;
      if (!url) throw new StratumError("VALIDATION_FAILED", "No database: pass --url or set STRATUM_OWNER_URL / DATABASE_URL to the owner role's URL.");
      const scopeKey = process.env.STRATUM_SCOPE_KEY;
      const result = await migrate({
        url,
        migrations: resolve(opts.migrations),
        ...(scopeKey ? { scopeKey } : {}),
        retirePreviousKey: opts.retirePreviousKey === true,
        log: (l) => console.log(l),
      });
      console.log(
        `applied ${result.applied.length} migration(s)` +
          (result.scopeKeyInstalled ? "; scope key installed (a different previous key stays accepted until --retire-previous-key)" : "; STRATUM_SCOPE_KEY not set, scope key unchanged") +
          (result.previousKeyRetired ? "; previous scope key retired" : ""),
      );
    });
}
