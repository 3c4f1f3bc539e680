/**
 * The database the runnable dashboard uses: embedded PGlite when DATABASE_URL is unset (like the
 * quick start), else a PostgreSQL database migrated as the owner and used as the app role.
 * Only the runnable server needs this; createDashboard takes any stratum-extended client.
 */
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { ltree } from "@electric-sql/pglite/contrib/ltree";
import { PrismaPGlite } from "pglite-prisma-adapter";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter, type StratumAdapterFactory, type StratumOptions } from "../../src/index.js";
import { INSTALL_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { applyMigrations, pgExecutor, pgliteExecutor } from "../../src/migrate/runner.js";

const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "prisma", "migrations");

export function withStratum(base: PrismaClient, options: StratumOptions) {
  return base.$extends(stratum(options));
}

/** Any client extended with stratum over this repository's schema (User, Ticket). */
export type DashboardPrisma = ReturnType<typeof withStratum>;

export interface DashboardDatabase {
  prisma: DashboardPrisma;
  where: string;
  /** SCHEMA tenants need an owner connection for their DDL; PGlite has no second connection. */
  schemaTenants: boolean;
  close(): Promise<void>;
}

/**
 * The app role's URL: APP_DATABASE_URL as given, else stratum_app with APP_ROLE_PASSWORD (set
 * here). Never a random password: roles belong to the whole server, so resetting stratum_app's
 * would lock out every other app and test run that uses it.
 */
async function appRoleUrl(owner: pg.Client, ownerUrl: string, env: NodeJS.ProcessEnv): Promise<URL> {
  if (env.APP_DATABASE_URL) return new URL(env.APP_DATABASE_URL);
  const password = env.APP_ROLE_PASSWORD;
  if (!password) throw new Error("With DATABASE_URL, set APP_DATABASE_URL (stratum_app's URL) or APP_ROLE_PASSWORD (to let stratum_app log in with it).");
  await owner.query(`ALTER ROLE stratum_app LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
  const url = new URL(ownerUrl);
  url.username = "stratum_app";
  url.password = password;
  return url;
}

/**
 * Webhooks need Redis (BullMQ): with REDIS_URL set, the dashboard delivers them and shows their
 * delivery log; without it the Webhooks tab says they are not configured.
 * STRATUM_WEBHOOKS_PRIVATE=1 lets them reach a receiver on this machine or the local network
 * (refused by default: a tenant's webhook must not probe the deployment's own network).
 */
function webhookOptions(env: NodeJS.ProcessEnv): StratumOptions["webhooks"] | undefined {
  if (!env.REDIS_URL) return undefined;
  return { redis: env.REDIS_URL, allowPrivateNetworks: env.STRATUM_WEBHOOKS_PRIVATE === "1" };
}

export async function openDatabase(env: NodeJS.ProcessEnv = process.env): Promise<DashboardDatabase> {
  const scopeKey = env.STRATUM_SCOPE_KEY ?? randomBytes(32).toString("hex");
  const encryptionKey = env.STRATUM_ENCRYPTION_KEY ?? randomBytes(32).toString("base64");
  const webhooks = webhookOptions(env);
  const build = (adapter: StratumAdapterFactory, admin?: StratumOptions["admin"]) => {
    const base = new PrismaClient({ adapter });
    return {
      base,
      prisma: withStratum(base, { models: stratumModels, scopeKey, encryptionKey, ...(admin ? { admin } : {}), ...(webhooks ? { webhooks } : {}) }),
    };
  };

  if (!env.DATABASE_URL) {
    const db = new PGlite({ extensions: { ltree } });
    await applyMigrations(pgliteExecutor(db), { migrationsDir });
    await db.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
    // Everything after migrations runs as the unprivileged app role, under RLS.
    await db.exec("SET ROLE stratum_app");
    const { base, prisma } = build(stratumAdapter({ adapter: new PrismaPGlite(db) }));
    return { prisma, where: "embedded PGlite (in memory)", schemaTenants: false, close: async () => (await base.$disconnect(), await db.close()) };
  }

  // DATABASE_URL is an owner (or superuser) URL of an existing database; the app connects as stratum_app.
  const ownerUrl = env.DATABASE_URL;
  const owner = new pg.Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    await applyMigrations(pgExecutor(owner), { migrationsDir });
    await owner.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
    const appUrl = await appRoleUrl(owner, ownerUrl, env);
    const { base, prisma } = build(stratumAdapter({ connectionString: appUrl.toString() }), { connectionString: ownerUrl });
    return { prisma, where: `PostgreSQL (${new URL(ownerUrl).pathname.slice(1)})`, schemaTenants: true, close: () => base.$disconnect() };
  } finally {
    await owner.end();
  }
}
