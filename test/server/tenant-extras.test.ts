/** Tenant conveniences on real PostgreSQL: one-call context, batch create with per-item results; HTTP and SDK. */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stratum as sdk, type StratumSdk } from "../../src/sdk/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

let f: ServerFixture;
let app: FastifyInstance;
let s: StratumSdk;
let root: string;
beforeAll(async () => {
  f = await serverFixture("srv_tenant_extras");
  root = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Ctx Root", slug: "ctx_root" }), 201).id;
  app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP });
  s = sdk({ controlPlaneUrl: await app.listen({ port: 0, host: "127.0.0.1" }), apiKey: BOOTSTRAP });
});
afterAll(async () => {
  await app?.close();
  await f?.close();
});

describe("tenant context", () => {
  it("answers the tenant, its resolved config (sensitive redacted) and permissions, and isolation", async () => {
    const child = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Ctx Child", parent_id: root }), 201).id;
    expectStatus(await f.call("PUT", `/api/v1/tenants/${root}/config/plan`, { value: "gold", locked: true }), 200);
    expectStatus(await f.call("POST", `/api/v1/tenants/${root}/permissions`, { key: "reports", value: true, mode: "INHERITED" }), 201);
    const ctx = await s.tenants.context(child);
    expect(ctx.tenant.id).toBe(child);
    expect(ctx.config.plan).toMatchObject({ value: "gold", inherited: true, locked: true, source_tenant_id: root });
    expect(ctx.permissions.reports).toMatchObject({ value: true, source_tenant_id: root });
    expect(ctx.isolation).toEqual({ strategy: "SHARED_RLS", placement: null });
  });

  it("needs config:read and permissions:read besides tenants:read", async () => {
    const key = expectStatus<{ key: string }>(await f.call("POST", "/api/v1/api-keys", { name: "t-only", scopes: ["tenants:read"] }), 201).key;
    const res = await f.call("GET", `/api/v1/tenants/${root}/context`, undefined, key);
    expect(res.statusCode).toBe(403);
  });
});

describe("batch create", () => {
  it("creates each item on its own and reports the refused ones", async () => {
    const result = await s.tenants.createMany([
      { name: "Batch One", slug: "batch_one", parent_id: root },
      { name: "Batch Dup", slug: "ctx_root" },
      { name: "Batch Two", slug: "batch_two", parent_id: root },
    ]);
    expect(result).toMatchObject({ created: 2, failed: 1 });
    expect(result.results.map((r) => [r.index, r.ok])).toEqual([
      [0, true],
      [1, false],
      [2, true],
    ]);
    expect(result.results[1]!.error?.code).toBe("SLUG_TAKEN");
    expect((await s.tenants.children(root)).map((t) => t.slug)).toEqual(expect.arrayContaining(["batch_one", "batch_two"]));
  });

  it("a subtree key cannot create roots in a batch, but can create under its tenant", async () => {
    const key = expectStatus<{ key: string }>(await f.call("POST", "/api/v1/api-keys", { name: "sub", scopes: ["tenants:write"], tenant_id: root }), 201).key;
    const res = expectStatus<{ results: Array<{ ok: boolean; error?: { code: string } }> }>(
      await f.call("POST", "/api/v1/tenants/batch", { tenants: [{ name: "Rooty" }, { name: "Under", parent_id: root }] }, key),
      200,
    );
    expect(res.results.map((r) => r.ok)).toEqual([false, true]);
    expect(res.results[0]!.error?.code).toBe("FORBIDDEN");
  });
});
