/** One OpenTelemetry span per request, with the route, the status and the tenant addressed. */
import { randomUUID } from "node:crypto";
import { context, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlPlane } from "../../src/server/index.js";
import { AlsContextManager, InMemoryTracerProvider } from "../support/compliance-tracer.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

let f: ServerFixture;
const provider = new InMemoryTracerProvider();
beforeAll(async () => {
  f = await serverFixture("srv_tracing");
  context.setGlobalContextManager(new AlsContextManager());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  await f?.close();
});

describe("request spans", () => {
  it("names each span by method and route, with the tenant id and the status", async () => {
    const app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP });
    try {
      await app.ready();
      const call = (url: string) => app.inject({ method: "GET", url, headers: { "x-api-key": BOOTSTRAP } });
      const root = expectStatus<{ id: string }>(
        await app.inject({ method: "POST", url: "/api/v1/tenants", headers: { "x-api-key": BOOTSTRAP }, payload: { name: "Traced" } }),
        201,
      ).id;
      expectStatus(await call(`/api/v1/tenants/${root}/config`), 200);
      const unknown = randomUUID();
      expect((await call(`/api/v1/tenants/${unknown}`)).statusCode).toBe(404);
      const mine = provider.spans.filter((s) => s.tracer === "stratum-prisma/server");
      const config = mine.find((s) => s.name === "GET /api/v1/tenants/:id/config")!;
      expect(config.attributes).toMatchObject({ "stratum.tenant_id": root, "http.response.status_code": 200, "http.route": "/api/v1/tenants/:id/config" });
      expect(config.ended).toBe(true);
      const missing = mine.find((s) => s.name === "GET /api/v1/tenants/:id" && s.attributes["stratum.tenant_id"] === unknown)!;
      expect(missing.attributes["http.response.status_code"]).toBe(404);
      expect(mine.find((s) => s.name === "POST /api/v1/tenants")?.attributes["http.response.status_code"]).toBe(201);
    } finally {
      await app.close();
    }
  });
});
