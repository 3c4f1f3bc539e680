/**
 * What a browser needs: CORS for the origins the operator names (none by default: a control
 * plane is not a public API), security headers, and Swagger UI at /docs over /openapi.json.
 */
import fastifyCors from "@fastify/cors";
import fastifyHelmet from "@fastify/helmet";
import fastifySwaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import type { ControlPlaneOptions } from "./types.js";

export function installWebSurface(app: FastifyInstance, options: ControlPlaneOptions): void {
  if (options.cors) {
    void app.register(fastifyCors, {
      origin: options.cors.origin,
      credentials: options.cors.credentials ?? false,
      // Clients read these: the rate-limit budget and when to retry.
      exposedHeaders: ["retry-after", "x-ratelimit-remaining", "content-disposition"],
    });
  }
  if (options.helmet !== false) {
    // Swagger UI sets its own (static) CSP on /docs; the API itself serves JSON only.
    void app.register(fastifyHelmet, { global: true });
  }
  if (options.docs !== false) {
    void app.register(fastifySwaggerUi, { routePrefix: "/docs", staticCSP: true, uiConfig: { deepLinking: true } });
  }
}
