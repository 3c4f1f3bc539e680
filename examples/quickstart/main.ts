/**
 * The quick start from the product documents: AcmeSec → NorthStar MSP → Client Alpha / Beta,
 * config inheritance, a locked permission, and tenant-scoped queries that cannot see each other.
 *
 * With no DATABASE_URL it runs on embedded PGlite (with ltree), under the same RLS policies as
 * PostgreSQL. With DATABASE_URL (a superuser or owner URL) it creates a scratch database there,
 * runs everything as the unprivileged app role, and drops the database at the end.
 *
 * Most of a PGlite run used to be silent: compiling PostgreSQL's WebAssembly and applying the
 * migrations (hundreds of DDL statements through the WASM engine). It says what it is doing, and
 * the migrated database is kept as a PGlite snapshot under node_modules/.cache/stratum, keyed by
 * the migrations' checksums, so only the first run (or one after a schema change) migrates.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { ltree } from "@electric-sql/pglite/contrib/ltree";
import { PrismaPGlite } from "pglite-prisma-adapter";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter, type StratumAdapterFactory } from "../../src/index.js";
import { INSTALL_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { applyMigrations, listMigrations, pgExecutor, pgliteExecutor } from "../../src/migrate/runner.js";

const started = Date.now();
/** A progress line with the time since start: what is happening while nothing else prints. */
const step = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);

const migrationsDir = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));
const scopeKey = process.env.STRATUM_SCOPE_KEY ?? randomBytes(32).toString("hex");
const encryptionKey = randomBytes(32).toString("base64");

interface Setup {
  adapter: StratumAdapterFactory;
  where: string;
  cleanup: () => Promise<void>;
}

/** The role migrations run as (a superuser session switches to it). */
const OWNER = "stratum_quickstart_owner";
const cacheDir = fileURLToPath(new URL("../../node_modules/.cache/stratum", import.meta.url));

/** The snapshot file for exactly these migrations. */
function snapshotFile(): string {
  const hash = createHash("sha256");
  for (const m of listMigrations(migrationsDir)) hash.update(`${m.name}\0${m.checksum}\0`);
  return join(cacheDir, `quickstart-pglite-${hash.digest("hex").slice(0, 16)}.tar.gz`);
}

/** Embedded PGlite: migrate as the superuser (or load the migrated snapshot), then act as the app role. */
async function onPGlite(): Promise<Setup> {
  const snapshot = snapshotFile();
  const cached = existsSync(snapshot);
  step(
    cached
      ? "starting embedded PGlite from the migrated snapshot in node_modules/.cache/stratum"
      : "starting embedded PGlite (PostgreSQL compiled to WebAssembly; the first run also migrates it and caches a snapshot, so it is slower)",
  );
  const db = cached ? new PGlite({ extensions: { ltree }, loadDataDir: new Blob([readFileSync(snapshot)]) }) : new PGlite({ extensions: { ltree } });
  await db.waitReady;
  if (!cached) {
    // Migrate as an owner that is not a superuser, as in production: objects a superuser owns
    // (the security migration's views) would read past row-level security, and stratum refuses that.
    await db.exec(`CREATE ROLE ${OWNER} CREATEROLE;
      DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO ${OWNER}', current_database()); END $$;
      ALTER SCHEMA public OWNER TO ${OWNER};
      SET ROLE ${OWNER};`);
    const count = listMigrations(migrationsDir).length;
    step(`applying ${count} migrations (tables, then row-level security policies, grants and the ltree trigger)`);
    await applyMigrations(pgliteExecutor(db), { migrationsDir, log: (line) => line.startsWith("applied ") && step(`  ${line}`) });
    // The app role may not create objects of its own (temporary tables could shadow tenant tables).
    await db.exec(`RESET ROLE; DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$;`);
    step("saving a snapshot of the migrated database for the next run");
    const dump = await db.dumpDataDir("gzip");
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(snapshot, Buffer.from(await dump.arrayBuffer()));
  }
  await db.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
  await db.exec("SET ROLE stratum_app");
  step("ready: connected as stratum_app (not a superuser, row-level security applies)");
  return { adapter: stratumAdapter({ adapter: new PrismaPGlite(db) }), where: "embedded PGlite", cleanup: () => db.close() };
}

/** PostgreSQL: a scratch database, migrated as the given (admin) user, used as the app role. */
async function onPostgres(adminUrl: string): Promise<Setup> {
  const name = `stratum_quickstart_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const server = new URL(adminUrl);
  step(
    `creating scratch database ${name} and its owner role ${name} on ${server.host} (as ${decodeURIComponent(server.username) || "the default user"}); both are dropped at the end`,
  );
  // A non-superuser owner, as in production (see onPGlite); the admin session switches to it.
  await admin.query(`CREATE ROLE ${name} NOLOGIN CREATEROLE`);
  await admin.query(`GRANT ${name} TO CURRENT_USER`);
  await admin.query(`CREATE DATABASE ${name} OWNER ${name}`);
  // The app role may not create objects of its own (temporary tables could shadow tenant tables).
  await admin.query(`REVOKE TEMPORARY ON DATABASE ${name} FROM PUBLIC`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${name}`;
  const owner = new pg.Client({ connectionString: dbUrl.toString() });
  await owner.connect();
  await owner.query(`SET ROLE ${name}`);
  step(`applying ${listMigrations(migrationsDir).length} migrations to ${name} as ${name}`);
  await applyMigrations(pgExecutor(owner), { migrationsDir });
  await owner.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
  await owner.query("RESET ROLE");
  // The app role is server-wide and may serve other databases (the test harness logs in as
  // stratum_app / stratum_app): give it a login and a password only when it has no login yet,
  // or when APP_ROLE_PASSWORD says which one; never change it behind anyone's back.
  const password = process.env.APP_ROLE_PASSWORD ?? "stratum_app";
  const role = await owner.query<{ rolcanlogin: boolean }>("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'stratum_app'");
  if (process.env.APP_ROLE_PASSWORD !== undefined || !role.rows[0]?.rolcanlogin) {
    await owner.query(`ALTER ROLE stratum_app LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
  }
  await owner.end();
  const appUrl = new URL(dbUrl);
  appUrl.username = "stratum_app";
  appUrl.password = password;
  return {
    adapter: stratumAdapter({ connectionString: appUrl.toString() }),
    where: `PostgreSQL database ${name}`,
    cleanup: async () => {
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.query(`DROP ROLE ${name}`);
      await admin.end();
      step(`dropped scratch database ${name} and role ${name}`);
    },
  };
}

const setup = process.env.DATABASE_URL ? await onPostgres(process.env.DATABASE_URL) : await onPGlite();
const base = new PrismaClient({ adapter: setup.adapter });
const prisma = base.$extends(stratum({ models: stratumModels, scopeKey, encryptionKey }));
console.log(`\nstratum-prisma quick start on ${setup.where}\n`);

/** Tenant ids in output a person reads are replaced by the tenants' names. */
const names = new Map<string, string>();
function named(value: unknown): unknown {
  if (typeof value === "string") return names.get(value) ?? value;
  if (Array.isArray(value)) return value.map(named);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, named(v)]));
  return value;
}

try {
  // 1. A tenant hierarchy
  const root = await prisma.$stratum.createTenant({ name: "AcmeSec", slug: "acmesec", isolation_strategy: "SHARED_RLS" });
  const msp = await prisma.$stratum.createTenant({ name: "NorthStar MSP", slug: "northstar_msp", parent_id: root.id });
  const clientA = await prisma.$stratum.createTenant({ name: "Client Alpha", slug: "client_alpha", parent_id: msp.id });
  const clientB = await prisma.$stratum.createTenant({ name: "Client Beta", slug: "client_beta", parent_id: msp.id });
  for (const t of [root, msp, clientA, clientB]) names.set(t.id, t.name);
  console.log("Hierarchy created:");
  for (const t of [root, msp, clientA, clientB]) console.log(`  ${"  ".repeat(t.depth)}${t.name} (depth: ${t.depth})`);

  // 2. Config with inheritance
  await prisma.$stratum.setConfig(root.id, "max_users", { value: 1000, locked: false });
  await prisma.$stratum.setConfig(root.id, "theme", { value: "dark", locked: true });
  await prisma.$stratum.setConfig(msp.id, "max_users", { value: 500 });
  const config = await prisma.$stratum.resolveConfig(clientA.id);
  console.log("\nResolved config for Client Alpha:");
  console.log(named(config));

  // 3. A locked permission
  await prisma.$stratum.createPermission(root.id, { key: "manage_users", value: true, mode: "LOCKED", revocation_mode: "CASCADE" });
  const perms = await prisma.$stratum.resolvePermissions(clientA.id);
  console.log("\nResolved permission manage_users for Client Alpha:");
  console.log(named(perms["manage_users"]));

  // 4. Isolation: each client sees only its own rows, whatever the query
  await prisma.$tenant(clientA.id).user.create({ data: { tenant_id: clientA.id, email: "ada@alpha.test", name: "Ada" } });
  await prisma.$tenant(clientB.id).user.create({ data: { tenant_id: clientB.id, email: "bob@beta.test", name: "Bob" } });
  const alphaUsers = await prisma.$tenant(clientA.id).user.findMany({ select: { email: true } });
  const betaCount = await prisma.$tenant(clientB.id).user.count();
  const mspView = await prisma.$tenant(msp.id, { descendants: true }).user.count();
  console.log("\nIsolation:");
  console.log(`  Client Alpha sees ${JSON.stringify(alphaUsers)}`);
  console.log(`  Client Beta counts ${betaCount} user(s)`);
  console.log(`  NorthStar MSP (descendants view) counts ${mspView} user(s)`);
  try {
    await prisma.user.findMany();
  } catch (error) {
    console.log(`  Without a tenant: ${(error as { code?: string }).code}`);
  }
} finally {
  await base.$disconnect();
  await setup.cleanup();
}
console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
