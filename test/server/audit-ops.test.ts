/**
 * The audit trail for operators and apps, on real PostgreSQL: the app's own events (actor,
 * resource, back-dated occurred_at), one entry, the subtree filter, NDJSON export; over HTTP and
 * through the SDK.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stratum as sdk, type StratumSdk } from "../../src/sdk/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface Entry {
  id: string;
  tenant_id: string;
  action: string;
  actor: { id: string; type: string };
  target_type: string | null;
  target_id: string | null;
  created_at: string;
}

let f: ServerFixture;
let root: string;
let child: string;
let other: string;
let app: FastifyInstance;
let s: StratumSdk;
beforeAll(async () => {
  f = await serverFixture("srv_audit_ops");
  root = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Audit Root" }), 201).id;
  child = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Audit Child", parent_id: root }), 201).id;
  other = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Audit Other" }), 201).id;
  app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP });
  s = sdk({ controlPlaneUrl: await app.listen({ port: 0, host: "127.0.0.1" }), apiKey: BOOTSTRAP });
});
afterAll(async () => {
  await app?.close();
  await f?.close();
});

describe("the app's own events", () => {
  it("appends with the app's actor and resource, back-dated, and reads it back", async () => {
    const entry = expectStatus<Entry>(
      await f.call("POST", `/api/v1/tenants/${child}/audit`, {
        actor: { id: "user-42" },
        action: "report.export",
        resource: { type: "report", id: "r-7" },
        after: { rows: 120, password: "hunter2" },
        occurred_at: "2026-01-02T03:04:05.000Z",
      }),
      201,
    );
    expect(entry).toMatchObject({ tenant_id: child, action: "report.export", actor: { id: "user-42", type: "user" }, target_type: "report", target_id: "r-7" });
    expect(new Date(entry.created_at).toISOString()).toBe("2026-01-02T03:04:05.000Z");
    const one = expectStatus<Entry & { after: Record<string, unknown> }>(await f.call("GET", `/api/v1/tenants/${root}/audit/${entry.id}`), 200);
    expect(one.id).toBe(entry.id);
    expect(one.after.password).not.toBe("hunter2");
    expect((await f.call("GET", `/api/v1/tenants/${other}/audit/${entry.id}`)).statusCode).toBe(404);
  });

  it("refuses stratum's own namespaces and future times", async () => {
    const forged = await f.call("POST", `/api/v1/tenants/${root}/audit`, { actor: { id: "u" }, action: "tenant.create" });
    expect(forged.statusCode).toBe(400);
    expect(forged.json<{ error: { message: string } }>().error.message).toContain("stratum's own");
    const future = await f.call("POST", `/api/v1/tenants/${root}/audit`, { actor: { id: "u" }, action: "app.thing", occurred_at: "2999-01-01T00:00:00Z" });
    expect(future.statusCode).toBe(400);
  });

  it("needs audit:write", async () => {
    const reader = expectStatus<{ key: string }>(await f.call("POST", "/api/v1/api-keys", { name: "reader", scopes: ["audit:read"] }), 201).key;
    const res = await f.call("POST", `/api/v1/tenants/${root}/audit`, { actor: { id: "u" }, action: "app.thing" }, reader);
    expect(res.statusCode).toBe(403);
  });
});

describe("listing and export", () => {
  it("lists the subtree with filters and pages; exports every match as NDJSON", async () => {
    for (let i = 0; i < 5; i++) {
      expectStatus(
        await f.call("POST", `/api/v1/tenants/${i % 2 ? child : root}/audit`, { actor: { id: `u${i}`, type: "admin" }, action: "app.step", after: { i } }),
        201,
      );
    }
    const page1 = expectStatus<{ entries: Entry[]; next_cursor: string }>(await f.call("GET", `/api/v1/tenants/${root}/audit?action=app.*&limit=3`), 200);
    expect(page1.entries).toHaveLength(3);
    const page2 = expectStatus<{ entries: Entry[]; next_cursor: string | null }>(
      await f.call("GET", `/api/v1/tenants/${root}/audit?action=app.*&limit=3&cursor=${page1.next_cursor}`),
      200,
    );
    expect(page2.entries).toHaveLength(2);
    expect(page2.next_cursor).toBeNull();

    const res = await f.app.inject({ method: "GET", url: `/api/v1/tenants/${root}/audit/export?action=app.*`, headers: { "x-api-key": BOOTSTRAP } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("application/x-ndjson");
    const lines = res.body
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Entry);
    expect(lines.map((l) => l.id)).toEqual([...page1.entries, ...page2.entries].map((e) => e.id));
    expect(new Set(lines.map((l) => l.tenant_id))).toEqual(new Set([root, child]));
    expect((await f.call("GET", `/api/v1/tenants/${root}/audit/export?actor=admin:u1`)).body.trimEnd().split("\n")).toHaveLength(1);
  });

  it("the SDK appends, reads one and streams the export", async () => {
    const entry = await s.audit.append(root, { actor: { id: "sdk-user", type: "service" }, action: "app.sdk", resource: { type: "doc", id: "d1" } });
    expect((await s.audit.get(root, entry.id)).action).toBe("app.sdk");
    const stream = await s.audit.exportStream(root, { action: "app.sdk" });
    const text = await new Response(stream).text();
    expect(
      text
        .trimEnd()
        .split("\n")
        .map((l) => (JSON.parse(l) as Entry).id),
    ).toEqual([entry.id]);
  });
});
