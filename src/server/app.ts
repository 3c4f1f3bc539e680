/**
 * `createControlPlane(options)`: the REST control plane as a Fastify instance, not listening
 * (call `listen`, or `inject` in tests). Routes live under /api/v1; /health, /ready,
 * /openapi.json and /docs need no key.
 */
import fastifySwagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type FastifyPluginAsyncZod,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { z } from "zod";
import { runWithActor } from "../audit/index.js";
import type { Actor } from "../core/ports.js";
import { StratumError } from "../core/errors.js";
import { isStratumError } from "../core/errors.js";
import { createAuthenticator, createGuard, principalOf } from "./auth.js";
import { createAuthFailureGate, DEFAULT_AUTH_FAILURE_LIMIT } from "./auth-failures.js";
import { registerHealthRoutes } from "./health.js";
import { installRequestSpans } from "./tracing.js";
import { installWebSurface } from "./web.js";
import { installErrorHandling } from "./errors.js";
import { withRouteExamples } from "./openapi-examples.js";
import { createRequestLimiter } from "./rate-limit.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { auditRoutes } from "./routes/audit.js";
import { complianceRoutes } from "./routes/compliance.js";
import { configRoutes } from "./routes/config.js";
import { isolationRoutes } from "./routes/isolation.js";
import { permissionRoutes } from "./routes/permissions.js";
import { operationRoutes } from "./routes/operations.js";
import { policyRoutes } from "./routes/policies.js";
import { roleRoutes } from "./routes/roles.js";
import { tenantRoutes } from "./routes/tenants.js";
import { tenantExtraRoutes } from "./routes/tenant-extras.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { webhookOpsRoutes } from "./routes/webhook-ops.js";
import { schemaRegistry } from "./schemas.js";
import type { ControlPlaneOptions, RouteDeps } from "./types.js";

export const API_PREFIX = "/api/v1";
const VERSION = "0.1.0";
const ROUTES: ReadonlyArray<FastifyPluginAsyncZod<RouteDeps>> = [
  tenantRoutes,
  tenantExtraRoutes,
  configRoutes,
  permissionRoutes,
  roleRoutes,
  policyRoutes,
  isolationRoutes,
  auditRoutes,
  apiKeyRoutes,
  webhookRoutes,
  webhookOpsRoutes,
  complianceRoutes,
  operationRoutes,
];

export function createControlPlane(options: ControlPlaneOptions): FastifyInstance {
  if (options.bootstrapKey !== undefined && options.bootstrapKey.length < 16) {
    throw new StratumError("VALIDATION_FAILED", "createControlPlane: bootstrapKey must have at least 16 characters.", { field: "bootstrapKey" });
  }
  const stratum = options.prisma.$stratum;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimit ?? 1024 * 1024 }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  installRequestSpans(app);

  void app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "stratum control plane",
        version: VERSION,
        description: "Hierarchical multi-tenancy: tenants, config, permissions, isolation, audit, API keys, GDPR and consent.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
          bearer: { type: "http", scheme: "bearer" },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
    transform: withRouteExamples(createJsonSchemaTransform({ schemaRegistry })),
    transformObject: createJsonSchemaTransformObject({ schemaRegistry }),
  });

  const limiter = options.rateLimit ? createRequestLimiter(options.rateLimit, (error) => app.log.warn({ err: error }, "rate limiter unavailable")) : null;
  if (limiter) app.addHook("onClose", () => limiter.close());
  const pingRedis = limiter ? () => limiter.ping() : null;
  installWebSurface(app, options);

  // Inside a plugin, so they are added after swagger's route collector is in place.
  void app.register(async (meta) => {
    registerHealthRoutes(meta, stratum, pingRedis);
    meta.get(
      "/openapi.json",
      {
        schema: {
          tags: ["meta"],
          summary: "The OpenAPI 3.1 document of this API",
          security: [],
          response: { 200: z.record(z.string(), z.unknown()).meta({ examples: [{ openapi: "3.1.0", info: { title: "stratum control plane" } }] }) },
        },
      },
      async () => app.swagger(),
    );
  });
  // The probes under /api/v1 too, where clients of the API look for them; still without a key.
  void app.register(async (meta) => registerHealthRoutes(meta, stratum, pingRedis), { prefix: API_PREFIX });

  const authenticator = createAuthenticator(stratum, options.bootstrapKey, options.jwt);
  const failures = options.authFailureLimit === false ? null : createAuthFailureGate(options.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT);
  const deps: RouteDeps = { stratum, guard: createGuard(stratum) };

  void app.register(
    async (api) => {
      api.addHook("onRequest", async (request, reply) => {
        failures?.check(request.ip);
        const principal = await authenticator.authenticate(request).catch((error: unknown) => {
          if (isStratumError(error, "UNAUTHORIZED")) failures?.record(request.ip);
          throw error;
        });
        if (limiter) await limiter.check(request, reply, principal);
      });
      // Callback style on purpose, and after body parsing (whose stream events would leave the
      // async context): `done` runs inside runWithActor, so the handler, the services and their
      // audit rows see the key as the actor.
      api.addHook("preHandler", (request, _reply, done) => {
        const principal = principalOf(request);
        const actor: Actor = principal.kind === "jwt" ? { id: principal.id.slice("user:".length), type: "user" } : { id: principal.id, type: "api_key" };
        runWithActor({ ...actor, requestId: String(request.id) }, () => done());
      });
      for (const routes of ROUTES) await api.register(routes, deps);
    },
    { prefix: API_PREFIX },
  );
  return app;
}
