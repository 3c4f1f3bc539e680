/**
 * Start-up checks of the app connection for CLI commands that serve traffic (`serve`): a server
 * that starts against a missing database, an unmigrated one, or as a superuser fails later and
 * less clearly (or, as a superuser, silently bypasses row-level security), so refuse up front
 * with the step that fixes it.
 */
import pg from "pg";
import { StratumError } from "../core/errors.js";

function databaseName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, "")) || "(default)";
  } catch {
    return "(unparsable URL)";
  }
}

export interface AppConnectionFacts {
  role: string;
  superuser: boolean;
  bypassRls: boolean;
  migrated: boolean;
}

export async function appConnectionFacts(url: string): Promise<AppConnectionFacts> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "3D000") {
      throw new StratumError(
        "VALIDATION_FAILED",
        `Database "${databaseName(url)}" does not exist. Create it as the owner (createdb ${databaseName(url)}), run \`npx stratum-prisma migrate\`, then start again.`,
        undefined,
        { cause: error },
      );
    }
    throw new StratumError(
      "VALIDATION_FAILED",
      `Cannot connect to ${databaseName(url)}: ${(error as Error).message}. Check the URL (--url / DATABASE_URL).`,
      undefined,
      { cause: error },
    );
  }
  try {
    const row = (
      await client.query<{ role: string; superuser: boolean; bypass_rls: boolean; migrated: boolean }>(
        `SELECT current_user AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypass_rls,
                to_regclass('public.stratum_tenants') IS NOT NULL AS migrated
           FROM pg_roles r WHERE r.rolname = current_user`,
      )
    ).rows[0];
    if (!row) throw new StratumError("VALIDATION_FAILED", "Cannot read the connection's role from pg_roles.");
    return { role: row.role, superuser: row.superuser, bypassRls: row.bypass_rls, migrated: row.migrated };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Throws when `url` is not a usable app connection: missing database, not migrated, or a role that bypasses RLS. */
export async function checkAppConnection(url: string): Promise<AppConnectionFacts> {
  const facts = await appConnectionFacts(url);
  if (facts.superuser || facts.bypassRls) {
    throw new StratumError(
      "UNSAFE_CONNECTION",
      `Role ${facts.role} is ${facts.superuser ? "a superuser" : "BYPASSRLS"}: row-level security would not apply to it. ` +
        `Connect as the app role instead: ALTER ROLE stratum_app LOGIN PASSWORD '…'; then use postgresql://stratum_app:…@host/${databaseName(url)} ` +
        "(pass the owner URL separately with --owner-url).",
    );
  }
  if (!facts.migrated) {
    throw new StratumError(
      "VALIDATION_FAILED",
      `Database "${databaseName(url)}" has no stratum tables: run \`npx stratum-prisma migrate\` with the owner URL first.`,
    );
  }
  return facts;
}
