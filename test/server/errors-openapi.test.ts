/** One error shape everywhere, validation at the edge, no internals leaked; the OpenAPI document. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlPlane } from "../../src/server/index.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface ErrorBody {
  error: { code: string; message: string; details?: { issues?: Array<{ path: string; message: string }>; in?: string } };
}

let f: ServerFixture;
let root: string;
beforeAll(async () => {
  f = await serverFixture("srv_errors");
  root = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Err Root" }), 201).id;
});
afterAll(async () => {
  await f?.close();
});

function expectErrorShape(body: unknown, code: string): ErrorBody {
  const e = body as ErrorBody;
  expect(Object.keys(e)).toEqual(["error"]);
  expect(
    Object.keys(e.error)
      .filter((k) => k !== "details")
      .sort(),
  ).toEqual(["code", "message"]);
  expect(e.error.code).toBe(code);
  expect(e.error.message.length).toBeGreaterThan(0);
  return e;
}

describe("errors", () => {
  it("an unknown route is a NOT_FOUND in the same shape", async () => {
    const res = await f.call("GET", "/api/v1/nothing-here");
    expect(res.statusCode).toBe(404);
    expectErrorShape(res.json(), "NOT_FOUND");
  });

  it("an unknown tenant is TENANT_NOT_FOUND (404) for an unrestricted key", async () => {
    const res = await f.call("GET", `/api/v1/tenants/${randomUUID()}/config`);
    expect(res.statusCode).toBe(404);
    expectErrorShape(res.json(), "TENANT_NOT_FOUND");
  });

  it("validates params, query and body with zod and says which field is wrong", async () => {
    const badParam = expectErrorShape(expectStatus(await f.call("GET", "/api/v1/tenants/not-a-uuid"), 400), "VALIDATION_FAILED");
    expect(badParam.error.details?.in).toBe("params");
    expect(badParam.error.details?.issues?.[0]?.path).toBe("id");

    const badQuery = expectErrorShape(expectStatus(await f.call("GET", "/api/v1/tenants?limit=9999"), 400), "VALIDATION_FAILED");
    expect(badQuery.error.details?.in).toBe("querystring");

    const extra = expectErrorShape(expectStatus(await f.call("POST", "/api/v1/tenants", { name: "X", owner: "me" }), 400), "VALIDATION_FAILED");
    expect(extra.error.message).toContain("owner");
    const missing = expectErrorShape(expectStatus(await f.call("POST", "/api/v1/tenants", { slug: "no_name" }), 400), "VALIDATION_FAILED");
    expect(missing.error.details?.issues?.map((i) => i.path)).toEqual(["name"]);
    const badKey = expectErrorShape(
      expectStatus(await f.call("PUT", `/api/v1/tenants/${root}/config/${encodeURIComponent("-bad")}`, { value: 1 }), 400),
      "VALIDATION_FAILED",
    );
    expect(badKey.error.details?.issues?.[0]?.path).toBe("key");
    expectErrorShape(expectStatus(await f.call("PUT", `/api/v1/tenants/${root}/config/k`, { locked: true }), 400), "VALIDATION_FAILED");
  });

  it("malformed JSON and a wrong media type are VALIDATION_FAILED too", async () => {
    const badJson = await f.app.inject({
      method: "POST",
      url: "/api/v1/tenants",
      headers: { "x-api-key": BOOTSTRAP, "content-type": "application/json" },
      payload: "{ not json",
    });
    expect(badJson.statusCode).toBe(400);
    expectErrorShape(badJson.json(), "VALIDATION_FAILED");
    const xml = await f.app.inject({
      method: "POST",
      url: "/api/v1/tenants",
      headers: { "x-api-key": BOOTSTRAP, "content-type": "application/xml" },
      payload: "<name>x</name>",
    });
    expect(xml.statusCode).toBe(415);
    expectErrorShape(xml.json(), "VALIDATION_FAILED");
  });

  it("a database failure is INTERNAL with a fixed message: no SQL, no stack", async () => {
    const t = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Broken Table" }), 201).id;
    await f.ownerQuery(`ALTER TABLE stratum_permissions RENAME TO stratum_permissions_gone`);
    try {
      const res = await f.call("GET", `/api/v1/tenants/${t}/permissions`);
      expect(res.statusCode).toBe(500);
      const body = expectErrorShape(res.json(), "INTERNAL");
      expect(body.error.details).toBeUndefined();
      expect(res.body).not.toMatch(/stratum_permissions|relation|SELECT|\bat\s+\S+\.(js|ts)/);
    } finally {
      await f.ownerQuery(`ALTER TABLE stratum_permissions_gone RENAME TO stratum_permissions`);
    }
  });

  it("refuses a short bootstrap key at construction", () => {
    expect(() => createControlPlane({ prisma: f.prisma, bootstrapKey: "short" })).toThrow(/16 characters/);
  });
});

describe("OpenAPI", () => {
  it("documents every route with its method, generated from the route schemas", async () => {
    const app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP });
    const routes: string[] = [];
    app.addHook("onRoute", (route) => {
      // Swagger UI's own pages (/docs/…) are not part of the API it documents.
      if (route.url.startsWith("/docs")) return;
      for (const method of [route.method].flat()) if (method !== "HEAD") routes.push(`${method.toLowerCase()} ${route.url}`);
    });
    await app.ready();
    const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json<{
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> } }>
      >;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    }>();
    await app.close();

    expect(doc.openapi).toBe("3.1.0");
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path.replace(/\{(\w+)\}/g, ":$1")}`)));
    expect(routes.length).toBeGreaterThan(35);
    for (const route of routes) expect(documented, route).toContain(route);
    expect(documented).toContain("get /health");
    // Request bodies come from the zod schemas the routes validate with.
    const create = doc.paths["/api/v1/tenants"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(create.required).toEqual(["name"]);
    expect(Object.keys(create.properties ?? {})).toEqual(["name", "slug", "parent_id", "isolation_strategy", "server", "metadata"]);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Tenant", "Error", "ApiKey", "ResolvedConfigEntry"]));
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["apiKey", "bearer"]);
  });
});
