/** Error messages over HTTP name routes and query parameters, never library calls. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIBRARY_CALL } from "../../src/server/http-wording.js";
import { expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface ErrorBody {
  error: { code: string; message: string };
}

let f: ServerFixture;
let root: string;
let child: string;
beforeAll(async () => {
  f = await serverFixture("srv_http_errors");
  root = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Wording Root" }), 201).id;
  child = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Wording Child", parent_id: root }), 201).id;
});
afterAll(async () => {
  await f?.close();
});

function refusal(res: { statusCode: number; json<T>(): T }, status: number, code: string): string {
  expect(res.statusCode).toBe(status);
  const body = res.json<ErrorBody>();
  expect(body.error.code).toBe(code);
  expect(body.error.message).not.toMatch(LIBRARY_CALL);
  return body.error.message;
}

describe("error messages speak HTTP", () => {
  it("deleting a tenant with children points at ?cascade=true", async () => {
    const message = refusal(await f.call("DELETE", `/api/v1/tenants/${root}`), 409, "TENANT_HAS_CHILDREN");
    expect(message).toContain("?cascade=true");
  });

  it("an unknown tenant points at GET /api/v1/tenants", async () => {
    const message = refusal(await f.call("GET", `/api/v1/tenants/${randomUUID()}`), 404, "TENANT_NOT_FOUND");
    expect(message).toContain("GET /api/v1/tenants");
  });

  it("a bad cursor asks for a previous page's next_cursor", async () => {
    const message = refusal(await f.call("GET", "/api/v1/tenants?cursor=garbage"), 400, "VALIDATION_FAILED");
    expect(message).toContain("next_cursor");
  });

  it("a locked config key points at the PUT route on the locking tenant", async () => {
    expectStatus(await f.call("PUT", `/api/v1/tenants/${root}/config/plan`, { value: "gold", locked: true }), 200);
    const message = refusal(await f.call("PUT", `/api/v1/tenants/${child}/config/plan`, { value: "silver" }), 409, "CONFIG_LOCKED");
    expect(message).toContain("PUT /api/v1/tenants/{id}/config/{key}");
  });

  it("webhooks on a server without them say the operator must enable them", async () => {
    const message = refusal(await f.call("GET", `/api/v1/tenants/${root}/webhooks`), 400, "VALIDATION_FAILED");
    expect(message).toMatch(/not enabled on this server/);
  });

  it("evaluate answers snake_case like every other route", async () => {
    const decision = expectStatus<Record<string, unknown>>(
      await f.call("POST", `/api/v1/tenants/${child}/evaluate`, { subject: { id: "u1" }, action: "doc.read", resource: {} }),
      200,
    );
    expect(Object.keys(decision).sort()).toEqual(["allowed", "considered", "decided_by", "reason"]);
  });
});
