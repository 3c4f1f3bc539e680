/** API keys over HTTP: 401 / 403, scopes, subtree limits, creation, listing, revocation, storage. */
import { createHash, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface Created {
  id: string;
  key: string;
  scopes: string[];
  tenant_id: string | null;
}
interface ErrorBody {
  error: { code: string; message: string };
}

let f: ServerFixture;
let root: string;
let a: string;
let aChild: string;
let b: string;

async function tenant(name: string, parent?: string): Promise<string> {
  return expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name, ...(parent ? { parent_id: parent } : {}) }), 201).id;
}

async function key(scopes: string[], tenantId?: string): Promise<Created> {
  return expectStatus<Created>(
    await f.call("POST", "/api/v1/api-keys", { name: `k-${scopes.join("+")}`, scopes, ...(tenantId ? { tenant_id: tenantId } : {}) }),
    201,
  );
}

beforeAll(async () => {
  f = await serverFixture("srv_auth");
  root = await tenant("Auth Root");
  a = await tenant("Sibling A", root);
  aChild = await tenant("A Child", a);
  b = await tenant("Sibling B", root);
});
afterAll(async () => {
  await f?.close();
});

describe("authentication", () => {
  it("answers 401 without a key, with an unknown or malformed key, and accepts Authorization: Bearer", async () => {
    for (const k of [null, "sk_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not-a-key", "sk_test_bootstrap_but_longer"]) {
      const res = await f.call("GET", `/api/v1/tenants/${root}`, undefined, k);
      expect(res.statusCode).toBe(401);
      expect(res.json<ErrorBody>().error.code).toBe("UNAUTHORIZED");
    }
    const bearer = await f.app.inject({ method: "GET", url: `/api/v1/tenants/${root}`, headers: { authorization: "Bearer sk_test_bootstrap" } });
    expect(bearer.statusCode).toBe(200);
  });

  it("needs no key for /health and /openapi.json", async () => {
    expect(expectStatus(await f.call("GET", "/health", undefined, null), 200)).toEqual({ status: "ok" });
    expect((await f.call("GET", "/openapi.json", undefined, null)).statusCode).toBe(200);
  });

  it("refuses a route without the scope (403), before touching anything", async () => {
    const reader = await key(["tenants:read"]);
    expectStatus(await f.call("GET", `/api/v1/tenants/${a}`, undefined, reader.key), 200);
    const denied = expectStatus<ErrorBody>(await f.call("POST", "/api/v1/tenants", { name: "Nope", parent_id: root }, reader.key), 403);
    expect(denied.error.code).toBe("FORBIDDEN");
    expect(denied.error.message).toContain("tenants:write");
    expect(expectStatus<ErrorBody>(await f.call("GET", `/api/v1/tenants/${a}/config`, undefined, reader.key), 403).error.code).toBe("FORBIDDEN");
    const count = await f.ownerQuery<{ n: number }>(`SELECT count(*)::int AS n FROM stratum_tenants WHERE name = 'Nope'`);
    expect(count[0]!.n).toBe(0);
  });
});

describe("a key limited to tenant A's subtree", () => {
  let scoped: Created;
  beforeAll(async () => {
    scoped = await key(["*"], a);
  });

  it("reads and writes A and its descendants", async () => {
    expectStatus(await f.call("GET", `/api/v1/tenants/${a}`, undefined, scoped.key), 200);
    expectStatus(await f.call("GET", `/api/v1/tenants/${aChild}/config`, undefined, scoped.key), 200);
    expectStatus(await f.call("PUT", `/api/v1/tenants/${aChild}/config/color`, { value: "red" }, scoped.key), 200);
    const grandchild = expectStatus<{ parent_id: string }>(
      await f.call("POST", "/api/v1/tenants", { name: "A Grandchild", parent_id: aChild }, scoped.key),
      201,
    );
    expect(grandchild.parent_id).toBe(aChild);
  });

  it("gets the same 403 for sibling B, the root above it, and an id that does not exist", async () => {
    const answers = [];
    for (const target of [b, root, randomUUID()]) {
      const res = await f.call("GET", `/api/v1/tenants/${target}`, undefined, scoped.key);
      expect(res.statusCode).toBe(403);
      answers.push(res.json<ErrorBody>().error.message.replace(target, "<id>"));
      expect((await f.call("GET", `/api/v1/tenants/${target}/config`, undefined, scoped.key)).statusCode).toBe(403);
      expect((await f.call("PUT", `/api/v1/tenants/${target}/config/color`, { value: "blue" }, scoped.key)).statusCode).toBe(403);
      expect((await f.call("DELETE", `/api/v1/tenants/${target}?cascade=true`, undefined, scoped.key)).statusCode).toBe(403);
    }
    expect(new Set(answers).size).toBe(1);
    // Nothing was written to B.
    const rows = await f.ownerQuery<{ n: number }>(`SELECT count(*)::int AS n FROM stratum_config WHERE tenant_id = $1`, [b]);
    expect(rows[0]!.n).toBe(0);
  });

  it("cannot create a root, move A out, move under B, or diff against B", async () => {
    expect((await f.call("POST", "/api/v1/tenants", { name: "Rogue Root" }, scoped.key)).statusCode).toBe(403);
    expect((await f.call("POST", "/api/v1/tenants", { name: "Rogue", parent_id: b }, scoped.key)).statusCode).toBe(403);
    expect((await f.call("POST", `/api/v1/tenants/${aChild}/move`, { parent_id: b }, scoped.key)).statusCode).toBe(403);
    expect((await f.call("POST", `/api/v1/tenants/${aChild}/move`, { parent_id: null }, scoped.key)).statusCode).toBe(403);
    expect((await f.call("GET", `/api/v1/tenants/${a}/config-diff/${b}`, undefined, scoped.key)).statusCode).toBe(403);
    expect((await f.call("GET", "/api/v1/tenants/by-slug/sibling_b", undefined, scoped.key)).statusCode).toBe(403);
    expect((await f.call("GET", "/api/v1/tenants/by-slug/no_such_slug", undefined, scoped.key)).statusCode).toBe(403);
  });

  it("lists only its subtree, and sees no ancestor above A", async () => {
    const list = expectStatus<{ data: Array<{ id: string }> }>(await f.call("GET", "/api/v1/tenants", undefined, scoped.key), 200);
    const ids = list.data.map((t) => t.id);
    expect(ids).toContain(a);
    expect(ids).toContain(aChild);
    expect(ids).not.toContain(b);
    expect(ids).not.toContain(root);
    const ancestors = expectStatus<Array<{ id: string }>>(await f.call("GET", `/api/v1/tenants/${aChild}/ancestors`, undefined, scoped.key), 200);
    expect(ancestors.map((t) => t.id)).toEqual([a]);
    expect((await f.call("GET", `/api/v1/tenants?parent_id=${root}`, undefined, scoped.key)).statusCode).toBe(403);
  });

  it("pages its subtree listing by cursor", async () => {
    const first = expectStatus<{ data: Array<{ id: string }>; next_cursor: string | null }>(
      await f.call("GET", "/api/v1/tenants?limit=1", undefined, scoped.key),
      200,
    );
    expect(first.data.map((t) => t.id)).toEqual([a]);
    const second = expectStatus<{ data: Array<{ id: string }> }>(
      await f.call("GET", `/api/v1/tenants?limit=1&cursor=${first.next_cursor}`, undefined, scoped.key),
      200,
    );
    expect(second.data.map((t) => t.id)).toEqual([aChild]);
  });
});

describe("API keys", () => {
  it("shows the key once, stores only its SHA-256, and records the key as the audit actor", async () => {
    const created = await key(["tenants:read", "config:write"]);
    expect(created.key).toMatch(/^sk_live_[A-Za-z0-9_-]{32}$/);
    const stored = await f.ownerQuery<Record<string, unknown>>(`SELECT * FROM stratum_api_keys WHERE id = $1`, [created.id]);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.key_hash).toBe(createHash("sha256").update(created.key).digest("hex"));
    expect(JSON.stringify(stored[0])).not.toContain(created.key);

    const listed = expectStatus<Array<Record<string, unknown>>>(await f.call("GET", "/api/v1/api-keys"), 200);
    const mine = listed.find((k) => k.id === created.id)!;
    expect(mine).toMatchObject({ scopes: ["tenants:read", "config:write"], tenant_id: null, revoked_at: null });
    expect(mine).not.toHaveProperty("key");
    expect(mine).not.toHaveProperty("key_hash");

    // Its writes are audited with the key as actor.
    expectStatus(await f.call("PUT", `/api/v1/tenants/${b}/config/via_key`, { value: 1 }, created.key), 200);
    const audit = await f.ownerQuery<{ actor: string; request_id: string | null }>(
      `SELECT actor, request_id FROM stratum_audit WHERE action = 'config.set' AND target_id = 'via_key' AND tenant_id = $1`,
      [b],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toBe(`api_key:${created.id}`);
    expect(audit[0]!.request_id).toBeTruthy();
    const creation = await f.ownerQuery<{ actor: string }>(`SELECT actor FROM stratum_audit WHERE action = 'api_key.create' AND target_id = $1`, [created.id]);
    expect(creation[0]?.actor).toBe("api_key:bootstrap");
  });

  it("revokes: the key gets 401 at once, the revocation is audited, the record stays", async () => {
    const created = await key(["tenants:read"]);
    expectStatus(await f.call("GET", `/api/v1/tenants/${root}`, undefined, created.key), 200);
    const revoked = expectStatus<{ revoked_at: string | null }>(await f.call("DELETE", `/api/v1/api-keys/${created.id}`), 200);
    expect(revoked.revoked_at).not.toBeNull();
    expect(expectStatus<ErrorBody>(await f.call("GET", `/api/v1/tenants/${root}`, undefined, created.key), 401).error.code).toBe("UNAUTHORIZED");
    const rows = await f.ownerQuery<{ n: number }>(`SELECT count(*)::int AS n FROM stratum_audit WHERE action = 'api_key.revoke' AND target_id = $1`, [
      created.id,
    ]);
    expect(rows[0]!.n).toBe(1);
    const active = expectStatus<Array<{ id: string }>>(await f.call("GET", "/api/v1/api-keys"), 200);
    expect(active.map((k) => k.id)).not.toContain(created.id);
    const all = expectStatus<Array<{ id: string }>>(await f.call("GET", "/api/v1/api-keys?include_revoked=true"), 200);
    expect(all.map((k) => k.id)).toContain(created.id);
    expect(expectStatus<ErrorBody>(await f.call("DELETE", `/api/v1/api-keys/${randomUUID()}`), 404).error.code).toBe("NOT_FOUND");
  });

  it("a key cannot grant scopes it lacks, and a tenant key manages only keys in its subtree", async () => {
    const admin = await key(["keys:admin", "tenants:read"], a);
    expect(
      expectStatus<ErrorBody>(await f.call("POST", "/api/v1/api-keys", { name: "x", scopes: ["*"], tenant_id: a }, admin.key), 403).error.message,
    ).toContain("*");
    expect((await f.call("POST", "/api/v1/api-keys", { name: "x", scopes: ["tenants:read"] }, admin.key)).statusCode).toBe(403);
    expect((await f.call("POST", "/api/v1/api-keys", { name: "x", scopes: ["tenants:read"], tenant_id: b }, admin.key)).statusCode).toBe(403);
    const child = expectStatus<Created>(
      await f.call("POST", "/api/v1/api-keys", { name: "child", scopes: ["tenants:read"], tenant_id: aChild, environment: "test" }, admin.key),
      201,
    );
    expect(child.key.startsWith("sk_test_")).toBe(true);

    const foreign = await key(["tenants:read"], b);
    const visible = expectStatus<Array<{ id: string }>>(await f.call("GET", "/api/v1/api-keys", undefined, admin.key), 200).map((k) => k.id);
    expect(visible).toContain(child.id);
    expect(visible).toContain(admin.id);
    expect(visible).not.toContain(foreign.id);

    const foreignAnswer = await f.call("DELETE", `/api/v1/api-keys/${foreign.id}`, undefined, admin.key);
    const unknownAnswer = await f.call("DELETE", `/api/v1/api-keys/${randomUUID()}`, undefined, admin.key);
    expect([foreignAnswer.statusCode, unknownAnswer.statusCode]).toEqual([403, 403]);
    expectStatus(await f.call("GET", `/api/v1/tenants/${b}`, undefined, foreign.key), 200); // still works
    expectStatus(await f.call("DELETE", `/api/v1/api-keys/${child.id}`, undefined, admin.key), 200);
  });

  it("validates key creation: unknown scopes, empty names, unknown tenants", async () => {
    expect(expectStatus<ErrorBody>(await f.call("POST", "/api/v1/api-keys", { name: "x", scopes: ["root:everything"] }), 400).error.code).toBe(
      "VALIDATION_FAILED",
    );
    expect((await f.call("POST", "/api/v1/api-keys", { name: "", scopes: ["*"] })).statusCode).toBe(400);
    expect(expectStatus<ErrorBody>(await f.call("POST", "/api/v1/api-keys", { name: "x", scopes: ["*"], tenant_id: randomUUID() }), 404).error.code).toBe(
      "TENANT_NOT_FOUND",
    );
  });

  it("deleting a tenant removes its keys", async () => {
    const t = await tenant("Key Holder", root);
    const held = await key(["tenants:read"], t);
    expectStatus(await f.call("DELETE", `/api/v1/tenants/${t}`), 200);
    expect((await f.call("GET", "/api/v1/tenants", undefined, held.key)).statusCode).toBe(401);
  });
});
