/** The SDK's methods end to end: SDK → HTTP → the real control plane → PostgreSQL, and back. */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum as stratumExtension, stratumAdapter } from "../../src/index.js";
import { isStratumError, StratumError, StratumTransportError, type StratumSdk } from "../../src/sdk/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { redisUrl } from "../harness/redis.js";
import { BOOTSTRAP, failure, sdkFixture, type SdkFixture } from "./support.js";

let f: SdkFixture;
let s: StratumSdk;

beforeAll(async () => {
  f = await sdkFixture("sdk_client");
  s = f.sdk();
});
afterAll(async () => {
  await f?.close();
});

describe("tenants", () => {
  it("builds the quick start's tree and reads it back in every shape", async () => {
    const root = await s.tenants.create({ name: "AcmeSec", slug: "acmesec", isolation_strategy: "SHARED_RLS" });
    const msp = await s.tenants.create({ name: "NorthStar MSP", slug: "northstar_msp", parent_id: root.id });
    const alpha = await s.tenants.create({ name: "Client Alpha", slug: "client_alpha", parent_id: msp.id, metadata: { plan: "gold" } });
    expect(root).toMatchObject({ name: "AcmeSec", slug: "acmesec", parent_id: null, depth: 0, status: "active", isolation_strategy: "SHARED_RLS" });
    expect(alpha).toMatchObject({ parent_id: msp.id, depth: 2, path: [root.id, msp.id, alpha.id], metadata: { plan: "gold" } });
    expect(typeof alpha.created_at).toBe("string");
    expect(Number.isNaN(Date.parse(alpha.created_at))).toBe(false);

    expect(await s.tenants.get(msp.id)).toEqual(msp);
    expect((await s.tenants.getBySlug("client_alpha")).id).toBe(alpha.id);
    expect((await s.tenants.children(root.id)).map((t) => t.id)).toEqual([msp.id]);
    expect((await s.tenants.ancestors(alpha.id)).map((t) => t.id)).toEqual([root.id, msp.id]);
    expect((await s.tenants.descendants(root.id)).map((t) => t.id)).toEqual([msp.id, alpha.id]);

    const page1 = await s.tenants.list({ limit: 2 });
    expect(page1.data).toHaveLength(2);
    expect(page1.next_cursor).not.toBeNull();
    const page2 = await s.tenants.list({ limit: 2, cursor: page1.next_cursor! });
    expect([...page1.data, ...page2.data].map((t) => t.id).sort()).toEqual([root.id, msp.id, alpha.id].sort());
    expect((await s.tenants.list({ search: "alpha" })).data.map((t) => t.id)).toEqual([alpha.id]);
  });

  it("renames a tenant and replaces its metadata; the cached read follows", async () => {
    const t = await s.tenants.create({ name: "Before", metadata: { a: 1 } });
    expect((await s.tenants.get(t.id)).name).toBe("Before");
    expect(await s.tenants.update(t.id, { name: "After", metadata: { b: 2 } })).toMatchObject({ id: t.id, name: "After", metadata: { b: 2 } });
    expect(await s.tenants.get(t.id)).toMatchObject({ name: "After", metadata: { b: 2 } });
    expect(await failure(s.tenants.update(t.id, {}))).toMatchObject({ code: "VALIDATION_FAILED" });
    const roots = await s.tenants.list({ roots: true, limit: 200 });
    expect(roots.data.map((x) => x.id)).toContain(t.id);
    expect(roots.data.every((x) => x.parent_id === null)).toBe(true);
  });

  it("moves, suspends, archives, restores and deletes", async () => {
    const a = await s.tenants.create({ name: "Move A" });
    const b = await s.tenants.create({ name: "Move B" });
    const child = await s.tenants.create({ name: "Move Child", parent_id: a.id });
    const moved = await s.tenants.move(child.id, b.id);
    expect(moved).toMatchObject({ parent_id: b.id, path: [b.id, child.id] });
    expect((await s.tenants.move(child.id, null)).parent_id).toBeNull();
    expect((await s.tenants.suspend(child.id)).status).toBe("suspended");
    expect((await s.tenants.restore(child.id)).status).toBe("active");
    const archived = await s.tenants.archive(child.id);
    expect(archived.status).toBe("archived");
    expect(archived.archived_at).not.toBeNull();
    expect((await s.tenants.restore(child.id)).status).toBe("active");

    const grandchild = await s.tenants.create({ name: "Move Grandchild", parent_id: a.id });
    expect((await failure(s.tenants.delete(a.id))) as StratumError).toMatchObject({ code: "TENANT_HAS_CHILDREN" });
    const { deleted } = await s.tenants.delete(a.id, { cascade: true });
    expect(deleted.sort()).toEqual([a.id, grandchild.id].sort());
    expect(await failure(s.tenants.get(a.id))).toMatchObject({ code: "TENANT_NOT_FOUND" });
  });
});

describe("config", () => {
  it("sets, resolves with inheritance as the seeds show, batches, diffs and deletes", async () => {
    const root = await s.tenants.create({ name: "Cfg Root" });
    const msp = await s.tenants.create({ name: "Cfg MSP", parent_id: root.id });
    const entry = await s.config.set(root.id, "max_users", { value: 1000, locked: false });
    expect(entry).toMatchObject({ tenant_id: root.id, key: "max_users", value: 1000, locked: false, version: 1 });
    expect(await s.config.resolve(msp.id)).toEqual({ max_users: { value: 1000, inherited: true, locked: false, source_tenant_id: root.id } });
    expect(await s.config.resolveKey(msp.id, "max_users")).toEqual({ value: 1000, inherited: true, locked: false, source_tenant_id: root.id });

    const outcome = await s.config.batch(msp.id, [
      { key: "theme", value: "dark" },
      { key: "max_users", value: 500 },
    ]);
    expect(outcome).toMatchObject({ applied: 2, rejected: 0 });
    expect(Object.keys(await s.config.get(msp.id)).sort()).toEqual(["max_users", "theme"]);
    const diff = await s.config.diff(root.id, msp.id);
    expect(Object.keys(diff.changed).sort()).toEqual(["max_users", "theme"]);

    await s.config.delete(msp.id, "max_users");
    expect((await s.config.resolve(msp.id)).max_users).toMatchObject({ value: 1000, inherited: true });
    // Keys with URL-significant characters survive the path.
    await s.config.set(msp.id, "feature/flags:beta", { value: true });
    expect((await s.config.resolveKey(msp.id, "feature/flags:beta")).value).toBe(true);
  });

  it("maps refusals to StratumError with the server's code", async () => {
    const root = await s.tenants.create({ name: "Lock Root" });
    const child = await s.tenants.create({ name: "Lock Child", parent_id: root.id });
    await s.config.set(root.id, "region", { value: "eu", locked: true });
    const locked = await failure(s.config.set(child.id, "region", { value: "us" }));
    expect(locked).toBeInstanceOf(StratumError);
    expect(locked).toMatchObject({ code: "CONFIG_LOCKED", details: expect.objectContaining({ http_status: 409 }) });
    expect(await failure(s.config.resolveKey(child.id, "nope"))).toMatchObject({ code: "CONFIG_NOT_FOUND" });
    const invalid = await failure(s.tenants.get("not-a-uuid"));
    expect(isStratumError(invalid, "VALIDATION_FAILED")).toBe(true);
    expect(await failure(s.tenants.get("00000000-0000-4000-8000-000000000000"))).toMatchObject({ code: "TENANT_NOT_FOUND" });
  });
});

describe("permissions and policies", () => {
  it("grants, resolves, lists, updates and revokes", async () => {
    const root = await s.tenants.create({ name: "Perm Root" });
    const child = await s.tenants.create({ name: "Perm Child", parent_id: root.id });
    const grant = await s.permissions.create(root.id, { key: "manage_users", value: true, mode: "LOCKED" });
    expect(grant).toMatchObject({ key: "manage_users", mode: "LOCKED", revocation_mode: "CASCADE" });
    expect((await s.permissions.resolve(child.id)).manage_users).toEqual({
      key: "manage_users",
      value: true,
      mode: "LOCKED",
      source_tenant_id: root.id,
      locked: true,
      delegated: false,
    });
    expect(await failure(s.permissions.create(child.id, { key: "manage_users", value: false, mode: "INHERITED" }))).toMatchObject({
      code: "PERMISSION_LOCKED",
    });
    expect((await s.permissions.update(root.id, "manage_users", { mode: "INHERITED" })).mode).toBe("INHERITED");
    expect((await s.permissions.list(root.id)).map((p) => p.key)).toEqual(["manage_users"]);
    expect(await s.permissions.revoke(root.id, "manage_users")).toMatchObject({ key: "manage_users", revocation_mode: "CASCADE", removed: 1 });
    expect(await s.permissions.resolve(child.id)).toEqual({});
  });

  it("manages and evaluates ABAC policies", async () => {
    const t = await s.tenants.create({ name: "Policy Tenant" });
    const policy = await s.policies.create(t.id, {
      name: "read-own",
      effect: "allow",
      actions: ["read"],
      conditions: [{ attribute: "subject.role", op: "eq", value: "admin" }],
    });
    expect(policy).toMatchObject({ name: "read-own", effect: "allow", actions: ["read"] });
    expect((await s.policies.evaluate(t.id, { subject: { role: "admin" }, action: "read", resource: {} })).allowed).toBe(true);
    expect((await s.policies.evaluate(t.id, { subject: { role: "guest" }, action: "read", resource: {} })).allowed).toBe(false);
    expect((await s.policies.update(t.id, "read-own", { priority: 5 })).priority).toBe(5);
    expect((await s.policies.list(t.id)).map((p) => p.name)).toEqual(["read-own"]);
    await s.policies.delete(t.id, "read-own");
    expect(await s.policies.list(t.id)).toEqual([]);
  });
});

describe("isolation, audit and API keys", () => {
  it("moves a tenant to SCHEMA and back, and lists the journal", async () => {
    const t = await s.tenants.create({ name: "Iso Tenant", slug: "iso_tenant" });
    const result = await s.isolation.set(t.id, { strategy: "SCHEMA" });
    expect(result).toMatchObject({ tenant_id: t.id, moved: true, to: { strategy: "SCHEMA" } });
    expect((await s.tenants.get(t.id)).isolation_strategy).toBe("SCHEMA");
    expect((await s.isolation.moves(t.id)).some((m) => m.to_strategy === "SCHEMA")).toBe(true);
    expect((await s.isolation.set(t.id, { strategy: "SHARED_RLS" })).to.strategy).toBe("SHARED_RLS");
    expect(await failure(s.isolation.rollback(t.id))).toMatchObject({ code: "NOT_FOUND" });
  });

  it("resumes and rolls back interrupted moves (the cached tenant follows)", async () => {
    const resumed = await s.tenants.create({ name: "Iso Resume", slug: "iso_resume" });
    const rolled = await s.tenants.create({ name: "Iso Rollback", slug: "iso_rollback" });
    expect((await s.tenants.get(resumed.id)).isolation_strategy).toBe("SHARED_RLS");
    for (const t of [resumed, rolled]) {
      await expect(f.prisma.$stratum.setIsolation(t.id, "SCHEMA", { interruptBefore: "flip" })).rejects.toThrow(/interrupted/);
    }
    expect(await failure(s.isolation.set(resumed.id, { strategy: "SCHEMA" }))).toMatchObject({ code: "ISOLATION_MOVE_IN_PROGRESS" });
    expect((await s.isolation.resume(resumed.id)).to.strategy).toBe("SCHEMA");
    expect((await s.tenants.get(resumed.id)).isolation_strategy).toBe("SCHEMA");
    expect(await s.isolation.rollback(rolled.id)).toEqual({ tenant_id: rolled.id, rolled_back: true });
    expect((await s.tenants.get(rolled.id)).isolation_strategy).toBe("SHARED_RLS");
  });

  it("pages the audit trail", async () => {
    const t = await s.tenants.create({ name: "Audit Tenant" });
    await s.config.set(t.id, "a", { value: 1 });
    await s.config.set(t.id, "b", { value: 2 });
    const page = await s.audit.list(t.id, { action: "config.*", limit: 1 });
    expect(page.entries).toHaveLength(1);
    expect(page.entries[0]).toMatchObject({ tenant_id: t.id, action: "config.set", actor: { id: "bootstrap", type: "api_key" } });
    const next = await s.audit.list(t.id, { action: "config.*", limit: 1, cursor: page.next_cursor! });
    expect(next.entries[0]!.id).not.toBe(page.entries[0]!.id);
    expect((await s.audit.list(t.id, { since: new Date(Date.now() - 60_000) })).entries.length).toBeGreaterThanOrEqual(3);
  });

  it("creates a tenant-limited key, works with it inside its subtree only, and revokes it", async () => {
    const a = await s.tenants.create({ name: "Key A" });
    const b = await s.tenants.create({ name: "Key B" });
    const created = await s.apiKeys.create({ name: "a-reader", scopes: ["tenants:read", "config:read"], tenant_id: a.id, environment: "test" });
    expect(created.key).toMatch(/^sk_test_/);
    expect((await s.apiKeys.list({ tenant_id: a.id })).map((k) => k.id)).toEqual([created.id]);

    const limited = f.sdk({ apiKey: created.key });
    expect((await limited.tenants.get(a.id)).id).toBe(a.id);
    expect(await failure(limited.tenants.get(b.id))).toMatchObject({ code: "FORBIDDEN" });
    expect(await failure(limited.config.set(a.id, "x", { value: 1 }))).toMatchObject({ code: "FORBIDDEN" });

    expect((await s.apiKeys.revoke(created.id)).revoked_at).not.toBeNull();
    limited.cache.clear();
    expect(await failure(limited.tenants.get(a.id))).toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("answers UNAUTHORIZED for a wrong key and VALIDATION_FAILED where webhooks are not configured", async () => {
    expect(await failure(f.sdk({ apiKey: "sk_live_wrong" }).tenants.list())).toMatchObject({ code: "UNAUTHORIZED" });
    const t = await s.tenants.create({ name: "Hook Tenant" });
    expect(await failure(s.webhooks.create(t.id, { url: "https://example.com/hook", events: ["tenant.*"] }))).toMatchObject({ code: "VALIDATION_FAILED" });
  });

  it("manages webhooks on a control plane that has them", async () => {
    const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: f.db.appUrl }) });
    const prisma = base.$extends(
      stratumExtension({
        models: stratumModels,
        scopeKey: f.db.scopeKey,
        webhooks: { redis: redisUrl(), queueName: `sdk-wh-${randomBytes(4).toString("hex")}`, allowHosts: ["127.0.0.1"], start: false },
      }),
    );
    const app = createControlPlane({ prisma, bootstrapKey: BOOTSTRAP });
    try {
      await app.listen({ port: 0, host: "127.0.0.1" });
      const hooks = f.sdk({ controlPlaneUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` });
      const t = await hooks.tenants.create({ name: "Hook Owner" });
      const other = await hooks.tenants.create({ name: "Hook Other" });
      const { webhook, secret } = await hooks.webhooks.create(t.id, { url: "http://127.0.0.1:9/hook", events: ["tenant.*"] });
      expect(webhook).toMatchObject({ tenant_id: t.id, url: "http://127.0.0.1:9/hook", events: ["tenant.*"], active: true });
      expect(secret.length).toBeGreaterThan(16);
      expect((await hooks.webhooks.list(t.id)).map((w) => w.id)).toEqual([webhook.id]);
      expect((await hooks.webhooks.update(t.id, webhook.id, { active: false })).active).toBe(false);
      expect((await hooks.webhooks.rotateSecret(t.id, webhook.id)).secret).not.toBe(secret);
      expect(await failure(hooks.webhooks.delete(other.id, webhook.id))).toMatchObject({ code: "NOT_FOUND" });
      await hooks.webhooks.delete(t.id, webhook.id);
      expect(await hooks.webhooks.list(t.id)).toEqual([]);
    } finally {
      await app.close();
      await prisma.$stratum.close();
      await base.$disconnect();
    }
  });

  it("accepts the base URL with /api/v1 and a trailing slash", async () => {
    const t = await s.tenants.create({ name: "Url Tenant" });
    expect((await f.sdk({ controlPlaneUrl: `${f.url}/api/v1/` }).tenants.get(t.id)).id).toBe(t.id);
  });

  it("transport failures are StratumTransportError, not StratumError", async () => {
    const closed = f.sdk({ controlPlaneUrl: "http://127.0.0.1:1", retries: 0 });
    const error = await failure(closed.tenants.list());
    expect(error).toBeInstanceOf(StratumTransportError);
    expect(error).toMatchObject({ code: "NETWORK_ERROR" });
    expect(isStratumError(error)).toBe(false);
  });
});
