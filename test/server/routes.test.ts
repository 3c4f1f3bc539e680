/** Happy paths (and their refusals) of permissions, policies, isolation, audit and webhook routes. */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../../src/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { redisUrl } from "../harness/redis.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface ErrorBody {
  error: { code: string; message: string };
}

let f: ServerFixture;
let root: string;
let msp: string;
let client: string;

async function tenant(name: string, parent?: string): Promise<string> {
  return expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name, ...(parent ? { parent_id: parent } : {}) }), 201).id;
}

beforeAll(async () => {
  f = await serverFixture("srv_routes");
  root = await tenant("Perm Root");
  msp = await tenant("Perm MSP", root);
  client = await tenant("Perm Client", msp);
});
afterAll(async () => {
  await f?.close();
});

describe("permissions", () => {
  it("grants, resolves down the tree as the seed shows, updates, lists and revokes", async () => {
    const created = expectStatus<{ key: string; mode: string; revocation_mode: string }>(
      await f.call("POST", `/api/v1/tenants/${root}/permissions`, { key: "manage_users", value: true, mode: "LOCKED", revocation_mode: "CASCADE" }),
      201,
    );
    expect(created).toMatchObject({ key: "manage_users", mode: "LOCKED", revocation_mode: "CASCADE" });
    const resolved = expectStatus<Record<string, unknown>>(await f.call("GET", `/api/v1/tenants/${client}/permissions`), 200);
    expect(resolved.manage_users).toEqual({ key: "manage_users", value: true, mode: "LOCKED", source_tenant_id: root, locked: true, delegated: false });

    const refused = expectStatus<ErrorBody>(
      await f.call("POST", `/api/v1/tenants/${msp}/permissions`, { key: "manage_users", value: false, mode: "INHERITED" }),
      409,
    );
    expect(refused.error.code).toBe("PERMISSION_LOCKED");

    expectStatus(await f.call("POST", `/api/v1/tenants/${msp}/permissions`, { key: "billing", value: "read", mode: "DELEGATED" }), 201);
    const updated = expectStatus<{ value: unknown }>(await f.call("PATCH", `/api/v1/tenants/${msp}/permissions/billing`, { value: "write" }), 200);
    expect(updated.value).toBe("write");
    const grants = expectStatus<Array<{ key: string }>>(await f.call("GET", `/api/v1/tenants/${msp}/permission-grants`), 200);
    expect(grants.map((g) => g.key)).toEqual(["billing"]);

    const revoked = expectStatus(await f.call("DELETE", `/api/v1/tenants/${msp}/permissions/billing`), 200);
    expect(revoked).toMatchObject({ key: "billing", removed: 1, tombstone: false });
    expect(expectStatus<ErrorBody>(await f.call("DELETE", `/api/v1/tenants/${msp}/permissions/billing`), 404).error.code).toBe("PERMISSION_NOT_FOUND");
    expect((await f.call("PATCH", `/api/v1/tenants/${msp}/permissions/billing`, {})).statusCode).toBe(400);
  });
});

describe("ABAC policies", () => {
  it("creates, lists (own and inherited), evaluates, updates and deletes", async () => {
    expectStatus(
      await f.call("POST", `/api/v1/tenants/${root}/policies`, {
        name: "owners-edit",
        effect: "allow",
        actions: ["doc.edit"],
        conditions: [{ attribute: "resource.owner_id", op: "eq", ref: "subject.id" }],
      }),
      201,
    );
    expect(expectStatus<unknown[]>(await f.call("GET", `/api/v1/tenants/${client}/policies`), 200)).toEqual([]);
    const inherited = expectStatus<Array<{ name: string }>>(await f.call("GET", `/api/v1/tenants/${client}/policies?inherited=true`), 200);
    expect(inherited.map((p) => p.name)).toEqual(["owners-edit"]);

    const allow = expectStatus<{ allowed: boolean; decided_by: { name: string; inherited: boolean } | null }>(
      await f.call("POST", `/api/v1/tenants/${client}/evaluate`, { subject: { id: "u1" }, action: "doc.edit", resource: { owner_id: "u1" } }),
      200,
    );
    expect(allow).toMatchObject({ allowed: true, decided_by: { name: "owners-edit", inherited: true } });
    const deny = expectStatus<{ allowed: boolean }>(
      await f.call("POST", `/api/v1/tenants/${client}/evaluate`, { subject: { id: "u2" }, action: "doc.edit", resource: { owner_id: "u1" } }),
      200,
    );
    expect(deny.allowed).toBe(false);

    const patched = expectStatus<{ priority: number }>(await f.call("PATCH", `/api/v1/tenants/${root}/policies/owners-edit`, { priority: 5 }), 200);
    expect(patched.priority).toBe(5);
    expect((await f.call("DELETE", `/api/v1/tenants/${root}/policies/owners-edit`)).statusCode).toBe(204);
    expect(expectStatus<unknown[]>(await f.call("GET", `/api/v1/tenants/${root}/policies`), 200)).toEqual([]);
  });
});

describe("isolation", () => {
  it("moves a tenant to SCHEMA and back, and lists the journal", async () => {
    const t = await tenant("Iso Tenant", root);
    const toSchema = expectStatus<{ moved: boolean; from: { strategy: string }; to: { strategy: string; placement: string } }>(
      await f.call("POST", `/api/v1/tenants/${t}/isolation`, { strategy: "SCHEMA" }),
      200,
    );
    expect(toSchema).toMatchObject({ moved: true, from: { strategy: "SHARED_RLS" }, to: { strategy: "SCHEMA", placement: `t_${t.replace(/-/g, "")}` } });
    expect(expectStatus<{ isolation_strategy: string }>(await f.call("GET", `/api/v1/tenants/${t}`), 200).isolation_strategy).toBe("SCHEMA");
    const moves = expectStatus<Array<{ to_strategy: string; step: string }>>(await f.call("GET", `/api/v1/tenants/${t}/isolation/moves`), 200);
    expect(moves.at(-1)).toMatchObject({ to_strategy: "SCHEMA", step: "cleaned" });
    const back = expectStatus<{ to: { strategy: string } }>(await f.call("POST", `/api/v1/tenants/${t}/isolation`, { strategy: "SHARED_RLS" }), 200);
    expect(back.to.strategy).toBe("SHARED_RLS");
    expect(expectStatus<ErrorBody>(await f.call("POST", `/api/v1/tenants/${t}/isolation`, { strategy: "SILO" }), 400).error.code).toBe("VALIDATION_FAILED");
  }, 60_000);

  it("resumes and rolls back interrupted moves; with none open, rollback is a 404", async () => {
    const resumed = await tenant("Iso Resume", root);
    const rolled = await tenant("Iso Rollback", root);
    for (const t of [resumed, rolled]) {
      await expect(f.prisma.$stratum.setIsolation(t, "SCHEMA", { interruptBefore: "flip" })).rejects.toThrow(/interrupted/);
    }
    const busy = expectStatus<ErrorBody>(await f.call("POST", `/api/v1/tenants/${resumed}/isolation`, { strategy: "SCHEMA" }), 409);
    expect(busy.error.code).toBe("ISOLATION_MOVE_IN_PROGRESS");
    expect(expectStatus<{ to: { strategy: string } }>(await f.call("POST", `/api/v1/tenants/${resumed}/isolation/resume`, {}), 200).to.strategy).toBe("SCHEMA");
    expect(expectStatus(await f.call("POST", `/api/v1/tenants/${rolled}/isolation/rollback`), 200)).toEqual({ tenant_id: rolled, rolled_back: true });
    expect(expectStatus<{ isolation_strategy: string }>(await f.call("GET", `/api/v1/tenants/${rolled}`), 200).isolation_strategy).toBe("SHARED_RLS");
    expect(expectStatus<ErrorBody>(await f.call("POST", `/api/v1/tenants/${rolled}/isolation/rollback`), 404).error.code).toBe("NOT_FOUND");
  }, 60_000);
});

describe("audit", () => {
  it("lists the subtree's entries newest first, filtered by action prefix, paged by cursor", async () => {
    const all = expectStatus<{ entries: Array<{ action: string; tenant_id: string; actor: { type: string; id: string } }>; next_cursor: string | null }>(
      await f.call("GET", `/api/v1/tenants/${msp}/audit?action=tenant.*`),
      200,
    );
    expect(all.entries.map((e) => e.tenant_id).sort()).toEqual([client, msp].sort());
    expect(all.entries.every((e) => e.action === "tenant.create")).toBe(true);
    expect(all.entries[0]!.actor).toEqual({ type: "api_key", id: "bootstrap" });
    const page = expectStatus<{ entries: unknown[]; next_cursor: string }>(await f.call("GET", `/api/v1/tenants/${msp}/audit?limit=1`), 200);
    expect(page.entries).toHaveLength(1);
    const next = expectStatus<{ entries: unknown[] }>(await f.call("GET", `/api/v1/tenants/${msp}/audit?limit=1&cursor=${page.next_cursor}`), 200);
    expect(next.entries).toHaveLength(1);
    expect(next.entries[0]).not.toEqual(page.entries[0]);
    expect((await f.call("GET", `/api/v1/tenants/${msp}/audit?since=yesterday`)).statusCode).toBe(400);
  });
});

describe("webhooks", () => {
  it("answers a clear refusal when webhooks are not configured", async () => {
    const res = await f.call("GET", `/api/v1/tenants/${root}/webhooks`);
    expect(res.statusCode).toBe(400);
    expect(res.json<ErrorBody>().error.message).toContain("Webhooks are not enabled on this server");
  });

  it("registers (secret once), lists, updates, rotates and deletes; another tenant's webhook id is not found", async () => {
    const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: f.db.appUrl }) });
    const prisma = base.$extends(
      stratum({
        models: stratumModels,
        scopeKey: f.db.scopeKey,
        webhooks: { redis: redisUrl(), queueName: `srv-wh-${randomBytes(4).toString("hex")}`, allowHosts: ["127.0.0.1"], start: false },
      }),
    );
    const app = createControlPlane({ prisma, bootstrapKey: BOOTSTRAP });
    const call = (method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: object) =>
      app.inject({ method, url, headers: { "x-api-key": BOOTSTRAP }, ...(payload ? { payload } : {}) });
    try {
      const registered = expectStatus<{ webhook: { id: string; events: string[] }; secret: string }>(
        await call("POST", `/api/v1/tenants/${msp}/webhooks`, { url: "http://127.0.0.1:9/hook", events: ["tenant.*"] }),
        201,
      );
      expect(registered.secret.length).toBeGreaterThan(16);
      const listed = expectStatus<Array<Record<string, unknown>>>(await call("GET", `/api/v1/tenants/${msp}/webhooks`), 200);
      expect(listed.map((w) => w.id)).toEqual([registered.webhook.id]);
      expect(JSON.stringify(listed)).not.toContain(registered.secret);
      expect(
        expectStatus<{ active: boolean }>(await call("PATCH", `/api/v1/tenants/${msp}/webhooks/${registered.webhook.id}`, { active: false }), 200).active,
      ).toBe(false);
      const rotated = expectStatus<{ secret: string }>(await call("POST", `/api/v1/tenants/${msp}/webhooks/${registered.webhook.id}/rotate-secret`), 200);
      expect(rotated.secret).not.toBe(registered.secret);
      expect(expectStatus<ErrorBody>(await call("DELETE", `/api/v1/tenants/${root}/webhooks/${registered.webhook.id}`), 404).error.code).toBe("NOT_FOUND");
      expect((await call("DELETE", `/api/v1/tenants/${msp}/webhooks/${registered.webhook.id}`)).statusCode).toBe(204);
      expect(expectStatus<unknown[]>(await call("GET", `/api/v1/tenants/${msp}/webhooks`), 200)).toEqual([]);
      expect((await call("POST", `/api/v1/tenants/${msp}/webhooks`, { url: "not a url", events: ["*"] })).statusCode).toBe(400);
    } finally {
      await app.close();
      await prisma.$stratum.close();
      await base.$disconnect();
    }
  });
});
