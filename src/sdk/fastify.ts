/**
 * Fastify 5 plugin: the tenant is resolved in onRequest (before the body is read, so a refused
 * request costs no parsing), and the handler runs inside the tenant context from preHandler on,
 * after body parsing, which would otherwise resume outside it.
 */
import type { FastifyPluginCallback, FastifyRequest } from "fastify";
import { runWithTenant } from "../extension/context.js";
import { createTenantResolver, refusalBody, type RequestTenant, type ResolverClient, type TenantMiddlewareOptions } from "./resolve.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by stratum's plugin; null with `optional: true` and no tenant. */
    tenant: RequestTenant | null;
  }
}

export type FastifyTenantOptions = TenantMiddlewareOptions<FastifyRequest>;

export function fastifyTenantPlugin(client: ResolverClient, options: FastifyTenantOptions = {}): FastifyPluginCallback {
  const resolveRequest = createTenantResolver<FastifyRequest>(client, options);
  const plugin: FastifyPluginCallback = (app, _opts, done) => {
    app.decorateRequest("tenant", null);
    app.addHook("onRequest", async (request, reply) => {
      const header = (name: string) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value.join(",") : value;
      };
      const resolution = await resolveRequest(header, request);
      if (!resolution.ok) return reply.code(resolution.status).type("application/json; charset=utf-8").send(refusalBody(resolution.error));
      request.tenant = resolution.tenant;
      return undefined;
    });
    app.addHook("preHandler", (request, _reply, next) => {
      if (!request.tenant) return next();
      runWithTenant(request.tenant.tenant_id, () => next());
    });
    done();
  };
  // What fastify-plugin does: the hooks apply to the app that registers the plugin, not only inside it.
  Object.assign(plugin, { [Symbol.for("skip-override")]: true, [Symbol.for("fastify.display-name")]: "stratum-tenant" });
  return plugin;
}
