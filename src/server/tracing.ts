/**
 * One OpenTelemetry span per request (`GET /api/v1/tenants/:id`, kind SERVER) with the route, the
 * status and the tenant the request addresses, so a slow or failing call can be found by tenant.
 * Uses the global tracer provider: without an SDK installed, every call is a no-op.
 */
import { SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import type { FastifyInstance, FastifyRequest } from "fastify";

const spans = new WeakMap<FastifyRequest, Span>();

export function installRequestSpans(app: FastifyInstance): void {
  const tracer = trace.getTracer("stratum-prisma/server");
  app.addHook("onRequest", async (request) => {
    const route = request.routeOptions.url ?? "unmatched";
    const span = tracer.startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": request.method, "http.route": route, "url.path": request.url.split("?")[0]! },
    });
    spans.set(request, span);
  });
  // Params are parsed by now: the tenant a route addresses is its :id.
  app.addHook("preValidation", async (request) => {
    const id = (request.params as Record<string, unknown> | undefined)?.id;
    if (typeof id === "string") spans.get(request)?.setAttribute("stratum.tenant_id", id);
  });
  app.addHook("onError", async (request, _reply, error) => {
    spans.get(request)?.recordException(error);
  });
  app.addHook("onResponse", async (request, reply) => {
    const span = spans.get(request);
    if (!span) return;
    span.setAttribute("http.response.status_code", reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}
