/** A stratum-extended Prisma client on a fresh test database, connected as the app role. */
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter, type StratumAdapterOptions } from "../../src/index.js";
import { randomBytes } from "node:crypto";
import type { PlacementOptions } from "../../src/isolation/placement.js";
import type { TestDatabase } from "../harness/database.js";

/** One field-encryption key per test process, so every client of a file reads what another wrote. */
const ENCRYPTION_KEY = randomBytes(32).toString("base64");

export interface TestClientOptions {
  poolSize?: number;
  /** Extra named servers for DATABASE tenants: app-role URL and admin URL per name. */
  servers?: Record<string, { appUrl: string; adminUrl: string }>;
  encryptionKey?: string;
  /** stratum()'s config service limits. */
  config?: { maxValueBytes?: number };
  /** Tenant-database pool settings of stratumAdapter (connection budget, pool size, legacy maxPools). */
  tenantPools?: Pick<StratumAdapterOptions, "connectionBudget" | "poolSize" | "maxPools">;
  /** stratum()'s admin placement policy for new DATABASE tenants. */
  placement?: PlacementOptions;
  /** stratumAdapter's connections for descendants reads across SCHEMA homes. */
  subtreeConnections?: number;
  /** The main pool's `application_name` (its subtree connections share it): tells clients apart in pg_stat_activity. */
  applicationName?: string;
}

export function stratumTestClient(db: TestDatabase, options: TestClientOptions = {}) {
  const mainServer = { appUrl: db.appUrl, adminUrl: db.adminUrl };
  const servers = { main: mainServer, ...options.servers };
  const adapter = stratumAdapter({
    connectionString: db.appUrl,
    pool: { max: options.poolSize ?? 10, ...(options.applicationName ? { application_name: options.applicationName } : {}) },
    ...(options.subtreeConnections === undefined ? {} : { subtreeConnections: options.subtreeConnections }),
    servers: Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.appUrl])),
    maxPools: 4,
    ...options.tenantPools,
  });
  // A loaded 2-core CI machine can take more than Prisma's default 2 s to hand a pooled connection to a transaction.
  const base = new PrismaClient({ adapter, transactionOptions: { maxWait: 20_000, timeout: 20_000 } });
  const prisma = base.$extends(
    stratum({
      models: stratumModels,
      scopeKey: db.scopeKey,
      encryptionKey: options.encryptionKey ?? ENCRYPTION_KEY,
      ...(options.config ? { config: options.config } : {}),
      admin: {
        connectionString: db.ownerUrl,
        servers: Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.adminUrl])),
        ...(options.placement ? { placement: options.placement } : {}),
      },
    }),
  );
  return { prisma, base, adapter, close: () => base.$disconnect() };
}
