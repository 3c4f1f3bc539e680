/**
 * One-time setup for the example on PostgreSQL: applies the repository's migrations as the owner,
 * installs STRATUM_SCOPE_KEY, lets the app role log in, and seeds AcmeSec → NorthStar MSP →
 * Client Alpha / Client Beta with a few tickets (skipped when AcmeSec exists). Prints the
 * DATABASE_URL the app connects with (the app role, never the owner).
 *
 *   OWNER_DATABASE_URL=postgresql://postgres@localhost:5432/stratum_next STRATUM_SCOPE_KEY=… npm run setup
 */
import { randomBytes } from "node:crypto";
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

const migrations = fileURLToPath(new URL("../../../prisma/migrations", import.meta.url));
const { applied } = await migrate({ url: ownerUrl, migrations, scopeKey });
console.log(`migrations: ${applied.length} applied; scope key installed`);

// The password is set here, by the owner, because the migrations create the role without one.
const password = process.env.APP_ROLE_PASSWORD ?? randomBytes(12).toString("hex");
const owner = new pg.Client({ connectionString: ownerUrl });
await owner.connect();
await owner.query(`ALTER ROLE stratum_app LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
await owner.end();
const appUrl = new URL(ownerUrl);
appUrl.username = "stratum_app";
appUrl.password = password;

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
