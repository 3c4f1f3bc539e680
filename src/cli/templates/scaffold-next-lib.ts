/**
 * `stratum scaffold integration next`, part 1: `lib/stratum.ts`, the app's one stratum client
 * and the tenant of the current request. `next/headers` is imported lazily inside a function so
 * the module (and the server actions using it) also load outside Next: scripts, jobs, tests.
 */
import type { IntegrationTemplateInput } from "./scaffold-shared.js";

export function renderNextLib(t: IntegrationTemplateInput): string {
  return `/**
 * The stratum client for a Next.js app (App Router), and the tenant the current request runs for.
 * Written by \`stratum scaffold integration next\`; yours to edit.
 *
 * Server-only: import it from server components, route handlers and server actions, never from a
 * client component (it holds the database connection and the scope key).
 *
 * The tenant comes from the X-Tenant-ID request header. Set it in your middleware after you have
 * authenticated the user (from their session, not from what the browser sent): the header names
 * a tenant, it does not prove the caller belongs to it.
 */
import { StratumError, currentTenant, runWithTenant, stratum, stratumAdapter } from "${t.stratumImport}";
import { PrismaClient } from "${t.clientImport}";
import { stratumModels } from "${t.modelsImport}";

export const TENANT_HEADER = "x-tenant-id";
// Tenant ids are uuids. Refusing anything else here gives a clear error instead of a database cast error.
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Connect as the app role (not superuser, not BYPASSRLS, owns nothing): \`stratum doctor\` checks it. */
export function createPrisma(env: NodeJS.ProcessEnv = process.env) {
  const connectionString = env.APP_DATABASE_URL ?? env.DATABASE_URL;
  if (!connectionString) throw new Error("Set APP_DATABASE_URL (or DATABASE_URL) to the app role's connection string.");
  if (!env.STRATUM_SCOPE_KEY) throw new Error("Set STRATUM_SCOPE_KEY to the key \`stratum migrate\` installed.");
  const adapter = stratumAdapter({ connectionString });
  return new PrismaClient({ adapter }).$extends(stratum({ models: stratumModels, scopeKey: env.STRATUM_SCOPE_KEY }));
}

export type StratumPrisma = ReturnType<typeof createPrisma>;

// \`next dev\` re-evaluates modules on every edit; keeping the client on globalThis keeps one
// connection pool for the process instead of one more per reload.
const cache = globalThis as typeof globalThis & { stratumPrisma?: StratumPrisma };

/** The app's client, created on first use from the environment. */
export function getPrisma(): StratumPrisma {
  cache.stratumPrisma ??= createPrisma();
  return cache.stratumPrisma;
}

/** Uses a client you built yourself (tests, scripts) instead of one from the environment. */
export function setPrisma(client: StratumPrisma): void {
  cache.stratumPrisma = client;
}

export function parseTenantId(value: string | null | undefined): string {
  if (!value) throw new StratumError("NO_TENANT_CONTEXT", "No tenant for this request: set the X-Tenant-ID header in your middleware.");
  if (!TENANT_ID.test(value)) throw new StratumError("VALIDATION_FAILED", "X-Tenant-ID must be a tenant id (a uuid).");
  return value;
}

/**
 * The tenant this server code runs for: the one already entered (runWithTenant in a caller, a
 * job or a test), else the request's X-Tenant-ID header.
 */
export async function requestTenantId(): Promise<string> {
  const entered = currentTenant();
  if (entered) return entered.tenantId;
  const { headers } = await import("next/headers");
  return parseTenantId((await headers()).get(TENANT_HEADER));
}

/** Runs fn inside the request's tenant: plain \`getPrisma().${t.delegate}\` calls in it see only that tenant's rows. */
export async function withTenant<T>(fn: () => Promise<T>): Promise<T> {
  const tenantId = await requestTenantId();
  return runWithTenant(tenantId, fn);
}
`;
}
