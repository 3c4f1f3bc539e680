/**
 * `stratum scaffold integration fastify`: a Fastify 5 server whose /api routes run inside the
 * tenant named by X-Tenant-ID; `createApp(prisma)` takes the client so tests can inject one.
 */
import type { IntegrationTemplateInput } from "./scaffold-shared.js";

export function renderFastify(t: IntegrationTemplateInput): string {
  return `/**
 * Fastify 5 + stratum-prisma: every request under /api runs inside the tenant named by its
 * X-Tenant-ID header, so the \`prisma.${t.delegate}\` calls below see that tenant's rows and nothing else
 * (PostgreSQL's row-level security enforces it, not this file).
 * Written by \`stratum scaffold integration fastify\`; yours to edit.
 *
 *   APP_DATABASE_URL=postgresql://stratum_app@localhost/app STRATUM_SCOPE_KEY=… npx tsx <this file>
 *   curl -H "X-Tenant-ID: <tenant uuid>" http://localhost:3000/api/${t.route}
 *
 * Trust: the header names a tenant; it does not prove the caller belongs to it. Run this behind
 * something that authenticates the caller and sets or checks X-Tenant-ID (an API gateway, or an
 * auth hook registered before the tenant hooks); never take it from a browser as it comes.
 */
import { pathToFileURL } from "node:url";
import Fastify, { type FastifyInstance } from "fastify";
import { isStratumError, runWithTenant, stratum, stratumAdapter } from "${t.stratumImport}";
import { PrismaClient } from "${t.clientImport}";
import { stratumModels } from "${t.modelsImport}";

export const TENANT_HEADER = "x-tenant-id";
// Tenant ids are uuids. Refusing anything else here answers 400 instead of a database cast error.
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

declare module "fastify" {
  interface FastifyRequest {
    /** The checked X-Tenant-ID of a request under /api. */
    tenantId: string;
  }
}

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

// stratum's error codes that are the caller's problem; anything else is a 500 that reveals nothing.
const STATUS: Readonly<Record<string, number>> = {
  TENANT_NOT_FOUND: 404,
  TENANT_SUSPENDED: 403,
  TENANT_ARCHIVED: 403,
  READ_ONLY_SCOPE: 403,
  NO_TENANT_CONTEXT: 400,
  VALIDATION_FAILED: 400,
};

export function createApp(prisma: StratumPrisma): FastifyInstance {
  const app = Fastify();

  app.setErrorHandler((error: unknown, _request, reply) => {
    const status = isStratumError(error) ? STATUS[error.code] : undefined;
    if (isStratumError(error) && status !== undefined) return reply.code(status).send(refusal(error.code, error.message));
    // Fastify's own client errors (a malformed body, say) keep their status.
    const own = (error as { statusCode?: number }).statusCode;
    if (own !== undefined && own >= 400 && own < 500) return reply.code(own).send(refusal("BAD_REQUEST", (error as Error).message));
    app.log.error(error);
    return reply.code(500).send(refusal("INTERNAL", "Internal error"));
  });

  // Outside /api: no tenant needed (health checks, login).
  app.get("/health", async () => ({ ok: true }));

  app.register(
    async (api) => {
      api.decorateRequest("tenantId", "");
      // onRequest: refuse before the body is read, so a request without a tenant costs no parsing.
      api.addHook("onRequest", async (request, reply) => {
        const header = request.headers[TENANT_HEADER];
        const tenantId = Array.isArray(header) ? header[0] : header;
        if (!tenantId) return reply.code(400).send(refusal("NO_TENANT_CONTEXT", "Send the tenant's id in the X-Tenant-ID header."));
        if (!TENANT_ID.test(tenantId)) return reply.code(400).send(refusal("INVALID_TENANT_ID", "X-Tenant-ID must be a tenant id (a uuid)."));
        request.tenantId = tenantId;
        return undefined;
      });
      // preHandler, not onRequest: body parsing resumes outside any context entered before it. The
      // handler is called from done(), so it and everything it awaits run inside the tenant.
      api.addHook("preHandler", (request, _reply, done) => {
        runWithTenant(request.tenantId, () => done());
      });

      api.get("/${t.route}", async () => {
        // No tenant argument: the query runs in the tenant the preHandler entered.
        return prisma.${t.delegate}.findMany({ take: 100 });
      });
    },
    { prefix: "/api" },
  );
  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.PORT ?? 3000);
  const app = createApp(createPrisma());
  await app.listen({ port, host: "0.0.0.0" });
  console.log(\`listening on http://localhost:\${port}\`);
}
`;
}
