/**
 * Child process for test/fleet.test.ts: runs a fleet migration one home at a time and reports each
 * finished home as a JSON line, so the parent can kill it (SIGKILL) mid-run.
 * argv: <owner url of the main database> <servers as JSON: { name: admin url }>
 */
import { stratumModels } from "../../generated/stratum/index.js";
import { createAdminAccess } from "../../src/extension/admin.js";
import { tenantTablesOf } from "../../src/extension/strategies.js";
import { migrateFleet } from "../../src/migrate/fleet.js";

const [ownerUrl, serversJson] = process.argv.slice(2) as [string, string];
const admin = createAdminAccess({ connectionString: ownerUrl, servers: JSON.parse(serversJson) as Record<string, string> });

await migrateFleet(
  { admin, tenantTables: tenantTablesOf(stratumModels), appRole: "stratum_app" },
  { concurrency: 1, onProgress: (p) => process.stdout.write(`${JSON.stringify(p)}\n`) },
);
process.stdout.write(`${JSON.stringify({ finished: true })}\n`);
