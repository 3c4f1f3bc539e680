/**
 * One-time setup for the example on PostgreSQL: applies the repository's migrations as the owner,
 * installs STRATUM_SCOPE_KEY, lets the app role log in, and seeds AcmeSec → NorthStar MSP →
 * Client Alpha / Client Beta with a few tickets (skipped when AcmeSec exists). Prints the
 * DATABASE_URL the app connects with (the app role, never the owner).
 *
 *   OWNER_DATABASE_URL=postgresql://postgres@localhost:5432/stratum_next STRATUM_SCOPE_KEY=… APP_ROLE_PASSWORD=… npm run setup
 */
import { fileURLToPath } from "node:url";
import pg from "pg";
import { migrate } from "../../../src/cli/migrate.js";
import { isStratumError } from "../../../src/index.js";
import { createPrisma } from "../lib/stratum.js";
import { createTicket } from "../lib/tickets.js";

const ownerUrl = process.env.OWNER_DATABASE_URL;
const scopeKey = process.env.STRATUM_SCOPE_KEY;
if (!ownerUrl || !scopeKey) {
  console.error("Set OWNER_DATABASE_URL (an owner or superuser URL of an existing database) and STRATUM_SCOPE_KEY (openssl rand -hex 32).");
  process.exit(1);
}

/**
 * The app role's URL: APP_DATABASE_URL as given, else the owner URL with stratum_app and
 * APP_ROLE_PASSWORD (set here). Never a random password: roles are shared by every database of
 * the server, so changing stratum_app's password would lock out other apps and test runs on it.
 */
async function appRoleUrl(ownerUrl: string): Promise<URL> {
  if (process.env.APP_DATABASE_URL) return new URL(process.env.APP_DATABASE_URL);
  const password = process.env.APP_ROLE_PASSWORD;
  if (!password) {
    console.error("Set APP_DATABASE_URL (stratum_app's URL, if it can log in already) or APP_ROLE_PASSWORD (to give it one).");
    process.exit(1);
  }
  const owner = new pg.Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    await owner.query(`ALTER ROLE stratum_app LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
  } finally {
    await owner.end();
  }
  const url = new URL(ownerUrl);
  url.username = "stratum_app";
  url.password = password;
  return url;
}

const migrations = fileURLToPath(new URL("../../../prisma/migrations", import.meta.url));
const { applied } = await migrate({ url: ownerUrl, migrations, scopeKey });
console.log(`migrations: ${applied.length} applied; scope key installed`);

const appUrl = await appRoleUrl(ownerUrl);
const prisma = createPrisma({ connectionString: appUrl.toString(), scopeKey });
try {
  const s = prisma.$stratum;
  const existing = await s.getTenantBySlug("acmesec").catch((error: unknown) => {
    if (isStratumError(error, "TENANT_NOT_FOUND")) return null;
    throw error;
  });
  if (existing) {
    console.log("seed: AcmeSec exists, nothing to do");
  } else {
    const root = await s.createTenant({ name: "AcmeSec", slug: "acmesec", isolation_strategy: "SHARED_RLS" });
    const msp = await s.createTenant({ name: "NorthStar MSP", slug: "northstar_msp", parent_id: root.id });
    const alpha = await s.createTenant({ name: "Client Alpha", slug: "client_alpha", parent_id: msp.id });
    const beta = await s.createTenant({ name: "Client Beta", slug: "client_beta", parent_id: msp.id });
    await createTicket(prisma, { title: "VPN down", authorEmail: "ada@alpha.test" }, alpha.id);
    await createTicket(prisma, { title: "Printer jam", authorEmail: "ada@alpha.test" }, alpha.id);
    await createTicket(prisma, { title: "Phishing mail", authorEmail: "bob@beta.test" }, beta.id);
    console.log("seed: tenants created");
  }
  for (const t of (await s.listTenants({ limit: 100 })).data) console.log(`  ${t.id}  ${"  ".repeat(t.depth)}${t.name}`);
} finally {
  await prisma.$disconnect();
}
console.log(`\nexport DATABASE_URL='${appUrl.toString()}'`);
