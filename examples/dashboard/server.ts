/**
 * The MSSP dashboard: the control plane under /api/v1, a React admin page at /, its bundle at
 * /app.js (esbuild, built on first request) and the MSP view's data at
 * /dashboard/api/overview/:tenantId.
 *
 *   npx tsx examples/dashboard/server.ts          # embedded PGlite; DATABASE_URL=<owner url> for PostgreSQL
 *
 * The page receives the API key it calls the control plane with. That is for a local demo only:
 * behind a real login, put a server-side proxy (or a short-lived tenant-limited key) in its place.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { pathToFileURL } from "node:url";
import type { FastifyInstance } from "fastify";
import { StratumError } from "../../src/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { buildClientBundle } from "./bundle.js";
import { openDatabase, type DashboardPrisma } from "./db.js";
import { ticketOverview } from "./overview.js";
import { dashboardPage } from "./page.js";
import { seedDashboard, type SeedOptions, type SeedResult } from "./seed.js";

export interface DashboardOptions {
  prisma: DashboardPrisma;
  /** The control plane's bootstrap key, also handed to the page; default a fresh random key. */
  apiKey?: string;
  /** Seed the demo tree when it is missing (default), with these strategies; false to skip. */
  seed?: SeedOptions | false;
  logger?: boolean;
}

export interface Dashboard {
  app: FastifyInstance;
  apiKey: string;
  seed: SeedResult | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function sameKey(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function createDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { prisma } = options;
  const apiKey = options.apiKey ?? `sk_test_${randomBytes(24).toString("base64url")}`;
  const seed = options.seed === false ? null : await seedDashboard(prisma, options.seed ?? {});
  // The control plane is a whole Fastify app (routes under /api/v1, its error format); the
  // dashboard's own routes are added to it, so both share one port and one error shape.
  const app = createControlPlane({ prisma, bootstrapKey: apiKey, logger: options.logger ?? false });

  /** The overview route accepts the bootstrap key, or an API key allowed to read this tenant. */
  async function authorize(header: string | string[] | undefined, tenantId: string): Promise<void> {
    const key = typeof header === "string" ? header : undefined;
    if (!key) throw new StratumError("UNAUTHORIZED", "Send an API key in X-API-Key.");
    if (sameKey(key, apiKey)) return;
    const found = await prisma.$stratum.verifyApiKey(key);
    if (!found) throw new StratumError("UNAUTHORIZED", "The API key is unknown or revoked.");
    if (!found.scopes.some((s) => s === "*" || s === "tenants:read")) throw new StratumError("FORBIDDEN", "The key needs the tenants:read scope.");
    if (found.tenant_id && !(await prisma.$stratum.getTenant(tenantId)).path.includes(found.tenant_id)) {
      throw new StratumError("FORBIDDEN", "The key is limited to another part of the tree.");
    }
  }

  app.get<{ Params: { tenantId: string } }>("/dashboard/api/overview/:tenantId", async (request) => {
    const { tenantId } = request.params;
    if (!UUID.test(tenantId)) throw new StratumError("VALIDATION_FAILED", "tenantId must be a tenant id (a uuid).");
    await authorize(request.headers["x-api-key"], tenantId);
    return ticketOverview(prisma, tenantId);
  });

  app.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").send(dashboardPage({ apiKey })));

  let bundle: Promise<string> | null = null;
  app.get("/app.js", async (_request, reply) => {
    // Built once per server; a failed build is retried on the next request rather than cached.
    bundle ??= buildClientBundle().catch((error: unknown) => {
      bundle = null;
      throw error;
    });
    return reply.type("text/javascript; charset=utf-8").header("cache-control", "no-cache").send(await bundle);
  });

  return { app, apiKey, seed };
}

async function main(): Promise<void> {
  const db = await openDatabase();
  const { app, apiKey } = await createDashboard({
    prisma: db.prisma,
    ...(process.env.STRATUM_BOOTSTRAP_KEY ? { apiKey: process.env.STRATUM_BOOTSTRAP_KEY } : {}),
    seed: { schemaTenants: db.schemaTenants },
  });
  const port = Number(process.env.PORT ?? 3002);
  const host = process.env.HOST ?? "127.0.0.1";
  await app.listen({ port, host });
  console.log(`MSSP dashboard on ${db.where}: http://${host}:${port}/`);
  console.log(`control plane: http://${host}:${port}/api/v1  (X-API-Key: ${apiKey})`);
  const stop = async () => {
    await app.close();
    await db.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
