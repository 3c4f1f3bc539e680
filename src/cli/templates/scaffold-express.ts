/**
 * `stratum scaffold integration express`: an Express 5 server whose /api routes run inside the
 * tenant named by X-Tenant-ID. The client is built by `createPrisma()` but passed into
 * `createApp(prisma)`, so tests and other entry points can bring their own.
 */
import type { IntegrationTemplateInput } from "./scaffold-shared.js";

export function renderExpress(t: IntegrationTemplateInput): string {
  return `/**
 * Express 5 + stratum-prisma: every request under /api runs inside the tenant named by its
 * X-Tenant-ID header, so the \`prisma.${t.delegate}\` calls below see that tenant's rows and nothing else
 * (PostgreSQL's row-level security enforces it, not this file).
 * Written by \`stratum scaffold integration express\`; yours to edit.
 *
 *   APP_DATABASE_URL=postgresql://stratum_app@localhost/app STRATUM_SCOPE_KEY=… npx tsx <this file>
 *   curl -H "X-Tenant-ID: <tenant uuid>" http://localhost:3000/api/${t.route}
 *
 * Trust: the header names a tenant; it does not prove the caller belongs to it. Run this behind
 * something that authenticates the caller and sets or checks X-Tenant-ID (an API gateway, or your
 * session middleware mounted before \`tenantScope\`); never take it from a browser as it comes.
 */
import { pathToFileURL } from "node:url";
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from "express";
import { isStratumError, runWithTenant, stratum, stratumAdapter } from "${t.stratumImport}";
import { PrismaClient } from "${t.clientImport}";
import { stratumModels } from "${t.modelsImport}";

export const TENANT_HEADER = "X-Tenant-ID";
// Tenant ids are uuids. Refusing anything else here answers 400 instead of a database cast error.
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The stratum client. Connect as the app role (not superuser, not BYPASSRLS, owns nothing): \`stratum doctor\` checks it. */
export function createPrisma(env: NodeJS.ProcessEnv = process.env) {
  const connectionString = env.APP_DATABASE_URL ?? env.DATABASE_URL;
  if (!connectionString) throw new Error("Set APP_DATABASE_URL (or DATABASE_URL) to the app role's connection string.");
  if (!env.STRATUM_SCOPE_KEY) throw new Error("Set STRATUM_SCOPE_KEY to the key \`stratum migrate\` installed.");
  const adapter = stratumAdapter({ connectionString });
  return new PrismaClient({ adapter }).$extends(stratum({ models: stratumModels, scopeKey: env.STRATUM_SCOPE_KEY }));
}

export type StratumPrisma = ReturnType<typeof createPrisma>;

function refusal(code: string, message: string) {
  return { error: { code, message } };
}

/** Checks X-Tenant-ID and runs the rest of the request inside that tenant. */
export const tenantScope: RequestHandler = (req, res, next) => {
  const tenantId = req.get(TENANT_HEADER);
  if (!tenantId) {
    res.status(400).json(refusal("NO_TENANT_CONTEXT", \`Send the tenant's id in the \${TENANT_HEADER} header.\`));
    return;
  }
  if (!TENANT_ID.test(tenantId)) {
    res.status(400).json(refusal("INVALID_TENANT_ID", \`\${TENANT_HEADER} must be a tenant id (a uuid).\`));
    return;
  }
  // next() calls the matching handlers from here, so they and everything they await inherit the tenant.
  runWithTenant(tenantId, () => next());
};

// stratum's error codes that are the caller's problem; anything else is a 500 that reveals nothing.
const STATUS: Readonly<Record<string, number>> = {
  TENANT_NOT_FOUND: 404,
  TENANT_SUSPENDED: 403,
  TENANT_ARCHIVED: 403,
  READ_ONLY_SCOPE: 403,
  NO_TENANT_CONTEXT: 400,
  VALIDATION_FAILED: 400,
};

export const errorHandler: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
  const status = isStratumError(error) ? STATUS[error.code] : undefined;
  if (isStratumError(error) && status !== undefined) {
    res.status(status).json(refusal(error.code, error.message));
    return;
  }
  console.error(error);
  res.status(500).json(refusal("INTERNAL", "Internal error"));
};

export function createApp(prisma: StratumPrisma): Express {
  const app = express();
  app.use(express.json());
  // Outside /api: no tenant needed (health checks, login).
  app.get("/health", (_req, res) => {
    res.json({ ok: true });
  });
  app.use("/api", tenantScope);
  app.get("/api/${t.route}", async (_req, res) => {
    // No tenant argument: the query runs in the tenant tenantScope entered.
    res.json(await prisma.${t.delegate}.findMany({ take: 100 }));
  });
  app.use(errorHandler);
  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.PORT ?? 3000);
  createApp(createPrisma()).listen(port, () => console.log(\`listening on http://localhost:\${port}\`));
}
`;
}
