/**
 * The two roles every test database uses:
 * - `stratum_owner`: LOGIN, not superuser; owns the test databases and every table in them.
 * - `stratum_app`: LOGIN, NOSUPERUSER, NOBYPASSRLS, NOCREATEDB, NOCREATEROLE; owns nothing.
 * Idempotent, and safe when parallel workers race (one transaction under an advisory lock; the
 * attributes are re-asserted every time, so a role someone altered is put back).
 */
import pg from "pg";
import { withUser } from "./postgres.js";

export const OWNER_ROLE = "stratum_owner";
export const APP_ROLE = "stratum_app";
/** Passwords only matter where auth is not `trust` (containers); they are test-only. */
export const OWNER_PASSWORD = "stratum_owner";
export const APP_PASSWORD = "stratum_app";

const ROLES_LOCK = "stratum_test_roles";

export async function ensureRoles(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [ROLES_LOCK]);
    await client.query(`
      DO $do$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${OWNER_ROLE}') THEN
          CREATE ROLE ${OWNER_ROLE} LOGIN;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
          CREATE ROLE ${APP_ROLE} LOGIN;
        END IF;
      END $do$`);
    await client.query(`ALTER ROLE ${OWNER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE CREATEDB PASSWORD '${OWNER_PASSWORD}'`);
    await client.query(`ALTER ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '${APP_PASSWORD}'`);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function ownerUrlOf(adminUrl: string): string {
  return withUser(adminUrl, OWNER_ROLE, OWNER_PASSWORD);
}

export function appUrlOf(adminUrl: string): string {
  return withUser(adminUrl, APP_ROLE, APP_PASSWORD);
}
