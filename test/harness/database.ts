/**
 * One database per test file, cloned from the run's template:
 *
 *   let tdb: TestDatabase;
 *   beforeAll(async () => { tdb = await createTestDatabase(); });
 *   afterAll(() => tdb.drop());
 *
 * `adminUrl` is the superuser, `ownerUrl` the owner of every table (`stratum_owner`), `appUrl`
 * the application role (`stratum_app`: not superuser, not BYPASSRLS, owns nothing).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { homeDatabaseName } from "../../src/isolation/names.js";
import { requireInjected } from "./context.js";
import { withDatabase } from "./postgres.js";
import { OWNER_ROLE, appUrlOf, ownerUrlOf } from "./roles.js";
import { TEST_DB_PREFIX, createdComment, quoteIdent, writeScopeKey } from "./template.js";

export interface TestDatabase {
  name: string;
  /** Superuser. */
  adminUrl: string;
  /** `stratum_owner`, owner of the database and its tables. */
  ownerUrl: string;
  /** `stratum_app`, the role the application connects as. */
  appUrl: string;
  /** The run's scope key, already in `stratum_scope_keys`. */
  scopeKey: string;
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** Clone another template (default: the run's migrated template). */
  template?: string;
  /** Name prefix after `stratum_test_` (lowercase letters, digits, `_`), for readable leftovers. */
  label?: string;
  /** An empty database (cloned from template0, no migrations, no scope key). */
  empty?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverAdminUrl = requireInjected("stratumAdminUrl");
  const template = options.empty ? "template0" : (options.template ?? requireInjected("stratumTemplate"));
  const scopeKey = requireInjected("scopeKey");
  const label = options.label
    ? `${options.label
        .toLowerCase()
        .replace(/[^a-z0-9_]/g, "_")
        .slice(0, 20)}_`
    : "";
  const name = `${TEST_DB_PREFIX}${label}${randomBytes(6).toString("hex")}`;

  const admin = new pg.Client({ connectionString: serverAdminUrl });
  await admin.connect();
  try {
    // CREATE DATABASE … TEMPLATE fails while anything is connected to the template (another run
    // writing its scope key, say): retry for a while.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)} OWNER ${OWNER_ROLE}`);
        break;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== "55006" || attempt >= 100) throw error;
        await sleep(100 + Math.random() * 200);
      }
    }
    await admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS '${createdComment("stratum test database")}'`);
    // A database's own privileges are not copied from its template: revoke again what the
    // security migration revokes (stratum refuses an app role that can create temporary objects).
    await admin.query(`REVOKE TEMPORARY ON DATABASE ${quoteIdent(name)} FROM PUBLIC`);
  } finally {
    await admin.end().catch(() => undefined);
  }

  const ownerUrl = withDatabase(ownerUrlOf(serverAdminUrl), name);
  // The template carries this run's key, unless a concurrent run rewrote it in between.
  if (!options.empty) await writeScopeKey(ownerUrl, scopeKey);
  let dropped = false;
  return {
    name,
    adminUrl: withDatabase(serverAdminUrl, name),
    ownerUrl,
    appUrl: withDatabase(appUrlOf(serverAdminUrl), name),
    scopeKey,
    async drop() {
      if (dropped) return;
      dropped = true;
      const client = new pg.Client({ connectionString: serverAdminUrl });
      await client.connect();
      try {
        // Give connections the test just closed a moment to leave: forcing them out while their
        // pool is still ending makes pg emit an 'error' nobody listens to any more.
        for (let i = 0; i < 40; i++) {
          const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
          if ((rows[0] as { n: number }).n === 0) break;
          await sleep(50);
        }
        const homes = await tenantHomesOf(client, withDatabase(serverAdminUrl, name));
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        // DATABASE tenants' homes (and copies an interrupted move left) outlive the test database.
        for (const home of homes) await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(home)} WITH (FORCE)`);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

/** The databases on this server named for a tenant of the test database at `url` (its DATABASE homes). */
async function tenantHomesOf(server: pg.Client, url: string): Promise<string[]> {
  const db = new pg.Client({ connectionString: url });
  try {
    await db.connect();
    const tenants = await db.query<{ id: string }>("SELECT id::text AS id FROM stratum_tenants");
    const names = new Set(tenants.rows.map((t) => homeDatabaseName(t.id)));
    const { rows } = await server.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'stratum\\_t\\_%'");
    return rows.map((r) => r.datname).filter((n) => names.has(n));
  } catch {
    return []; // an empty database (no tenants table) or one already gone
  } finally {
    await db.end().catch(() => undefined);
  }
}
