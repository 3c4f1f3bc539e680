/**
 * The app's one stratum-extended Prisma client. Server-only: it holds the database connection
 * and the scope key, so never import it from a client component.
 *
 * Inside this repository the library and the generated client are imported from their sources,
 * so the example always runs against the code next to it (and the root `tsc` checks it). In your
 * own app these three imports become `stratum-prisma` and your schema's generator outputs.
 */
import { PrismaClient } from "../../../generated/prisma/client.js";
import { stratumModels } from "../../../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../../../src/index.js";

export interface PrismaSettings {
  /** The app role's URL: not superuser, not BYPASSRLS, owns nothing (`stratum doctor` checks it). */
  connectionString: string;
  /** The key `stratum migrate` installed; stratum signs every tenant scope with it. */
  scopeKey: string;
  /** Needed only to read or write encrypted fields (User.ssn). */
  encryptionKey?: string;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): PrismaSettings {
  const connectionString = env.APP_DATABASE_URL ?? env.DATABASE_URL;
  if (!connectionString) throw new Error("Set DATABASE_URL (or APP_DATABASE_URL) to the app role's connection string.");
  if (!env.STRATUM_SCOPE_KEY) throw new Error("Set STRATUM_SCOPE_KEY to the key `stratum migrate` installed.");
  return {
    connectionString,
    scopeKey: env.STRATUM_SCOPE_KEY,
    ...(env.STRATUM_ENCRYPTION_KEY ? { encryptionKey: env.STRATUM_ENCRYPTION_KEY } : {}),
  };
}

export function createPrisma(settings: PrismaSettings) {
  const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: settings.connectionString }) });
  return base.$extends(
    stratum({
      models: stratumModels,
      scopeKey: settings.scopeKey,
      ...(settings.encryptionKey ? { encryptionKey: settings.encryptionKey } : {}),
    }),
  );
}

export type StratumPrisma = ReturnType<typeof createPrisma>;

// `next dev` re-evaluates modules on every edit; keeping the client on globalThis keeps one
// connection pool per process instead of one more per reload.
const cache = globalThis as typeof globalThis & { stratumExamplePrisma?: StratumPrisma };

/** The app's client, created from the environment on first use. */
export function getPrisma(): StratumPrisma {
  cache.stratumExamplePrisma ??= createPrisma(settingsFromEnv());
  return cache.stratumExamplePrisma;
}
