/**
 * The quick start from the product documents: AcmeSec → NorthStar MSP → Client Alpha / Beta,
 * config inheritance, a locked permission, and tenant-scoped queries that cannot see each other.
 *
 * With no DATABASE_URL it runs on embedded PGlite (with ltree), under the same RLS policies as
 * PostgreSQL. With DATABASE_URL (a superuser or owner URL) it creates a scratch database there,
 * runs everything as the unprivileged app role, and drops the database at the end.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { ltree } from "@electric-sql/pglite/contrib/ltree";
import { PrismaPGlite } from "pglite-prisma-adapter";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter, type StratumAdapterFactory } from "../../src/index.js";
import { INSTALL_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { applyMigrations, pgExecutor, pgliteExecutor } from "../../src/migrate/runner.js";

const migrationsDir = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));
const scopeKey = process.env.STRATUM_SCOPE_KEY ?? randomBytes(32).toString("hex");
const encryptionKey = randomBytes(32).toString("base64");

interface Setup {
  adapter: StratumAdapterFactory;
  where: string;
  cleanup: () => Promise<void>;
}

/** Embedded PGlite: migrate as the superuser, then act as the app role for the rest. */
async function onPGlite(): Promise<Setup> {
  const db = new PGlite({ extensions: { ltree } });
  await applyMigrations(pgliteExecutor(db), { migrationsDir });
  await db.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
  await db.exec("SET ROLE stratum_app");
  return { adapter: stratumAdapter({ adapter: new PrismaPGlite(db) }), where: "embedded PGlite", cleanup: () => db.close() };
}

/** PostgreSQL: a scratch database, migrated as the given (admin) user, used as the app role. */
async function onPostgres(adminUrl: string): Promise<Setup> {
  const name = `stratum_quickstart_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${name}`;
  const owner = new pg.Client({ connectionString: dbUrl.toString() });
  await owner.connect();
  await applyMigrations(pgExecutor(owner), { migrationsDir });
  await owner.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
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
      await admin.end();
    },
  };
}

const setup = process.env.DATABASE_URL ? await onPostgres(process.env.DATABASE_URL) : await onPGlite();
const base = new PrismaClient({ adapter: setup.adapter });
const prisma = base.$extends(stratum({ models: stratumModels, scopeKey, encryptionKey }));
console.log(`stratum-prisma quick start on ${setup.where}\n`);

try {
  // 1. A tenant hierarchy
  const root = await prisma.$stratum.createTenant({ name: "AcmeSec", slug: "acmesec", isolation_strategy: "SHARED_RLS" });
  const msp = await prisma.$stratum.createTenant({ name: "NorthStar MSP", slug: "northstar_msp", parent_id: root.id });
  const clientA = await prisma.$stratum.createTenant({ name: "Client Alpha", slug: "client_alpha", parent_id: msp.id });
  const clientB = await prisma.$stratum.createTenant({ name: "Client Beta", slug: "client_beta", parent_id: msp.id });
  console.log("Hierarchy created:");
  for (const t of [root, msp, clientA, clientB]) console.log(`  ${t.name} (depth: ${t.depth})`);

  // 2. Config with inheritance
  await prisma.$stratum.setConfig(root.id, "max_users", { value: 1000, locked: false });
  await prisma.$stratum.setConfig(root.id, "theme", { value: "dark", locked: true });
  await prisma.$stratum.setConfig(msp.id, "max_users", { value: 500 });
  const config = await prisma.$stratum.resolveConfig(clientA.id);
  console.log("\nResolved config for Client Alpha:");
  console.log(config);

  // 3. A locked permission
  await prisma.$stratum.createPermission(root.id, { key: "manage_users", value: true, mode: "LOCKED", revocation_mode: "CASCADE" });
  const perms = await prisma.$stratum.resolvePermissions(clientA.id);
  console.log("\nResolved permission manage_users for Client Alpha:");
  console.log(perms["manage_users"]);

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
