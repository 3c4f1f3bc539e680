import { randomBytes, randomUUID } from "node:crypto";
import { lookup } from "node:dns/promises";
import { hostname } from "node:os";
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuditService } from "../src/audit/index.js";
import { pgDb, type Db } from "../src/core/db.js";
import { codeOf as code } from "./support/errors.js";
import { createConfigService } from "../src/config/index.js";
import { createTenantService } from "../src/tenants/service.js";
import {
  backoffDelay,
  createWebhookService,
  isPrivateAddress,
  withWebhookEvents,
  matchingPatterns,
  verifyWebhookSignature,
  type Delivery,
  type DeliveryStatus,
  type WebhookService,
  type WebhookServiceDeps,
} from "../src/webhooks/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { redisUrl } from "./harness/redis.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { testCipher } from "./support/config-db.js";
import { waitFor } from "./support/wait.js";

let tdb: TestDatabase;
let pool: pg.Pool;
let db: Db;
let receiver: WebhookReceiver;
let redis: Redis;
const queueName = `stratum-wh-test-${randomBytes(4).toString("hex")}`;
const services: WebhookService[] = [];
const cipher = testCipher();
let svc: WebhookService;

function service(overrides: Partial<WebhookServiceDeps> = {}, start = true): WebhookService {
  const s = createWebhookService(db, {
    audit: createAuditService(db),
    redis: redisUrl(),
    queueName,
    backoff: { baseMs: 20, maxMs: 80, jitter: 0.5 },
    maxAttempts: 3,
    timeoutMs: 400,
    pollIntervalMs: 30,
    cipher,
    // The receiver listens on 127.0.0.1: a private address, refused unless allowed.
    allowPrivateNetworks: true,
    onError: () => undefined,
    ...overrides,
  });
  services.push(s);
  if (start) s.start();
  return s;
}

beforeAll(async () => {
  tdb = await createTestDatabase({ label: "webhooks" });
  pool = new pg.Pool({ connectionString: tdb.ownerUrl, max: 6 });
  db = pgDb(pool);
  receiver = await startWebhookReceiver();
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  svc = service();
});

afterAll(async () => {
  for (const s of services) await s.close().catch(() => undefined);
  // The queue's keys go with the test: obliterate through a fresh handle, then drop the connections.
  const { Queue } = await import("bullmq");
  const q = new Queue(queueName, { connection: redis });
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  redis?.disconnect();
  await receiver?.close();
  await pool?.end();
  await tdb?.drop();
});

let slug = 0;
async function tenant(parentId: string | null): Promise<string> {
  const id = randomUUID();
  const s = `wh_${++slug}_${id.slice(0, 8)}`;
  await db.execute(`INSERT INTO stratum_tenants (id, parent_id, slug, name) VALUES ($1, $2, $3, $3)`, [id, parentId, s]);
  return id;
}

async function emitCommitted(s: WebhookService, type: string, tenantId: string, data: unknown = {}): Promise<string[]> {
  return db.transaction((tx) => s.emit(tx, { type, tenantId, data }));
}

async function delivery(id: string): Promise<Delivery> {
  return svc.getDelivery(id);
}

function waitStatus(id: string, status: DeliveryStatus): Promise<Delivery> {
  return waitFor(`delivery ${id} ${status}`, async () => {
    const d = await delivery(id);
    return d.status === status ? d : undefined;
  });
}

/**
 * A dispatcher on a database and queue of its own (every dispatcher on one database must share
 * one queue, so a test needing other settings than `svc`'s gets its own), with one tenant in it.
 */
async function withOwnDispatcher(
  label: string,
  overrides: Partial<WebhookServiceDeps>,
  fn: (ctx: { service: WebhookService; db: Db; tenantId: string; queue: string }) => Promise<void>,
): Promise<void> {
  const own = await createTestDatabase({ label: `webhooks_${label}` });
  const ownPool = new pg.Pool({ connectionString: own.ownerUrl, max: 3 });
  const ownDb = pgDb(ownPool);
  const ownQueue = `${queueName}-${label}`;
  const service = createWebhookService(ownDb, {
    audit: createAuditService(ownDb),
    redis: redisUrl(),
    queueName: ownQueue,
    pollIntervalMs: 30,
    onError: () => undefined,
    ...overrides,
  });
  try {
    service.start();
    const tenantId = randomUUID();
    await ownDb.execute(`INSERT INTO stratum_tenants (id, slug, name) VALUES ($1, $2, $2)`, [tenantId, label]);
    await fn({ service, db: ownDb, tenantId, queue: ownQueue });
  } finally {
    await service.close();
    const { Queue } = await import("bullmq");
    const q = new Queue(ownQueue, { connection: redis });
    await q.obliterate({ force: true });
    await q.close();
    await ownPool.end();
    await own.drop();
  }
}

describe("signing and verification", () => {
  it("delivers a signed JSON body that verifies with the secret returned once", async () => {
    const t = await tenant(null);
    const { webhook, secret } = await svc.register(t, { url: receiver.url("signed"), events: ["tenant.created"] });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(webhook).not.toHaveProperty("secret");
    const [id] = await emitCommitted(svc, "tenant.created", t, { slug: "acme", n: 1 });
    await waitStatus(id!, "delivered");

    const [req] = receiver.requests("signed");
    expect(req).toBeDefined();
    expect(req!.headers["x-stratum-event"]).toBe("tenant.created");
    expect(req!.headers["x-stratum-delivery"]).toBe(id);
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(req!.headers["x-stratum-signature"]).toMatch(/^v1=[0-9a-f]{64}$/);
    const body = JSON.parse(req!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ type: "tenant.created", tenant_id: t, data: { slug: "acme", n: 1 } });
    expect(Object.keys(body).sort()).toEqual(["data", "id", "occurred_at", "tenant_id", "type"]);
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.occurred_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    expect(verifyWebhookSignature(secret, req!.headers, req!.body)).toEqual({ ok: true, timestamp: Number(req!.headers["x-stratum-timestamp"]) });
    // Same check through a fetch Headers object
    const h = new Headers(Object.entries(req!.headers).map(([k, v]) => [k, String(v)] as [string, string]));
    expect(verifyWebhookSignature(secret, h, Buffer.from(req!.body)).ok).toBe(true);
  });

  it("rejects a tampered body, a wrong secret, an old or future timestamp, and missing headers", async () => {
    const secret = "whsec_test";
    const t = await tenant(null);
    const { secret: real } = await svc.register(t, { url: receiver.url("tamper"), events: ["*"] });
    const [id] = await emitCommitted(svc, "config.updated", t, { key: "theme" });
    await waitStatus(id!, "delivered");
    const req = receiver.requests("tamper")[0]!;
    const ts = Number(req.headers["x-stratum-timestamp"]);

    expect(verifyWebhookSignature(real, req.headers, req.body.replace("theme", "thene"))).toEqual({ ok: false, reason: "signature_mismatch" });
    expect(verifyWebhookSignature(secret, req.headers, req.body)).toEqual({ ok: false, reason: "signature_mismatch" });
    // Replay ten minutes later: outside the default 300 s window, inside a wider one.
    const later = (ts + 600) * 1000;
    expect(verifyWebhookSignature(real, req.headers, req.body, { now: later })).toEqual({ ok: false, reason: "timestamp_out_of_range" });
    expect(verifyWebhookSignature(real, req.headers, req.body, { now: later, toleranceSeconds: 900 }).ok).toBe(true);
    expect(verifyWebhookSignature(real, req.headers, req.body, { now: (ts - 600) * 1000 }).ok).toBe(false);
    // A re-stamped timestamp does not match the signature made for the original one.
    expect(verifyWebhookSignature(real, { ...req.headers, "x-stratum-timestamp": String(ts + 1) }, req.body).ok).toBe(false);
    expect(verifyWebhookSignature(real, { "x-stratum-timestamp": String(ts) }, req.body)).toEqual({ ok: false, reason: "missing_headers" });
    expect(verifyWebhookSignature(real, { ...req.headers, "x-stratum-signature": "v0=abc" }, req.body)).toEqual({ ok: false, reason: "malformed" });
    // Rotation: either of two signatures may match.
    const sig = String(req.headers["x-stratum-signature"]);
    expect(verifyWebhookSignature(real, { ...req.headers, "x-stratum-signature": `v1=${"0".repeat(64)}, ${sig}` }, req.body).ok).toBe(true);
  });

  it("stores the secret as is without a cipher, sealed with one, and still signs with the plaintext", async () => {
    const t = await tenant(null);
    // Registered by a process without a cipher: stored as is (whsec_…), still readable by svc.
    const plainSvc = service({ cipher: undefined }, false);
    const plain = await plainSvc.register(t, { url: receiver.url("plain"), events: ["*"] });
    const stored = await db.query<{ secret: string }>(`SELECT secret FROM stratum_webhooks WHERE id = $1`, [plain.webhook.id]);
    expect(stored[0]!.secret).toBe(plain.secret);

    const sealed = await svc.register(t, { url: receiver.url("sealed"), events: ["user.invited"] });
    const row = await db.query<{ secret: string }>(`SELECT secret FROM stratum_webhooks WHERE id = $1`, [sealed.webhook.id]);
    expect(row[0]!.secret).not.toContain(sealed.secret);
    expect(row[0]!.secret.startsWith("whsec_")).toBe(false);
    const ids = await emitCommitted(svc, "user.invited", t);
    await Promise.all(ids.map((id) => waitStatus(id, "delivered")));
    for (const [name, secret] of [
      ["sealed", sealed.secret],
      ["plain", plain.secret],
    ] as const) {
      const req = receiver.requests(name)[0]!;
      expect(verifyWebhookSignature(secret, req.headers, req.body).ok).toBe(true);
    }
    expect(await code(plainSvc.rotateSecret(randomUUID()))).toBe("NOT_FOUND");

    const rotated = await plainSvc.rotateSecret(plain.webhook.id);
    expect(rotated).not.toBe(plain.secret);
    const [id2] = await emitCommitted(svc, "x.y", t);
    await waitStatus(id2!, "delivered");
    const last = receiver.requests("plain").at(-1)!;
    expect(verifyWebhookSignature(rotated, last.headers, last.body).ok).toBe(true);
    expect(verifyWebhookSignature(plain.secret, last.headers, last.body).ok).toBe(false);
  });
});

describe("retries, dead letters and replay", () => {
  it("a receiver failing twice then succeeding gets three attempts and the delivery is delivered", async () => {
    const t = await tenant(null);
    receiver.behave("flaky", (n) => ({ status: n <= 2 ? 503 : 200 }));
    await svc.register(t, { url: receiver.url("flaky"), events: ["tenant.*"] });
    const [id] = await emitCommitted(svc, "tenant.moved", t);
    const d = await waitStatus(id!, "delivered");
    expect(d.attempts).toBe(3);
    expect(d.last_error).toBeNull();
    const reqs = receiver.requests("flaky");
    expect(reqs).toHaveLength(3);
    expect(new Set(reqs.map((r) => r.headers["x-stratum-delivery"]))).toEqual(new Set([id]));
    // backed off between attempts (base 20 ms, jitter ≤ 50 %): at least ~10 ms apart
    expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(8);
  });

  it("always failing: dead after maxAttempts, kept in BullMQ's failed set; replay delivers once fixed", async () => {
    const t = await tenant(null);
    let broken = true;
    receiver.behave("down", () => ({ status: broken ? 500 : 204 }));
    const { webhook } = await svc.register(t, { url: receiver.url("down"), events: ["permission.revoked"] });
    const [id] = await emitCommitted(svc, "permission.revoked", t, { key: "billing" });
    const dead = await waitStatus(id!, "dead");
    expect(dead.attempts).toBe(3);
    expect(dead.last_error).toMatch(/HTTP 500/);
    expect(receiver.requests("down")).toHaveLength(3);
    await waitFor("failed job", async () => (await (await svc.queue()).getJob(id!))?.failedReason);
    expect(await (await (await svc.queue()).getJob(id!))!.getState()).toBe("failed");

    // nothing more happens to a dead delivery
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.requests("down")).toHaveLength(3);

    expect(await code(svc.replay(randomUUID()))).toBe("NOT_FOUND");
    broken = false;
    const replayed = await svc.replay(id!);
    expect(replayed.status).toBe("pending");
    const delivered = await waitStatus(id!, "delivered");
    expect(delivered.attempts).toBe(4);
    expect(receiver.requests("down")).toHaveLength(4);
    expect((await svc.listDeliveries(webhook.id, { status: "delivered" })).map((d) => d.id)).toEqual([id]);
    // a delivered one can be replayed too; a pending one cannot
    await svc.replay(id!);
    await waitFor("second replay", async () => receiver.requests("down").length === 5);
    await waitStatus(id!, "delivered");
    const audit = await db.query<{ action: string }>(`SELECT action FROM stratum_audit WHERE target_id = $1`, [id]);
    expect(audit.map((a) => a.action)).toEqual(["webhook.replay", "webhook.replay"]);
  });

  it("a timeout counts as a failed attempt", async () => {
    const t = await tenant(null);
    receiver.behave("slow", (n) => (n === 1 ? { status: 200, delayMs: 1500 } : { status: 200 }));
    await svc.register(t, { url: receiver.url("slow"), events: ["*"] });
    const [id] = await emitCommitted(svc, "tenant.archived", t);
    const d = await waitStatus(id!, "delivered");
    expect(d.attempts).toBe(2);
    expect(receiver.requests("slow")).toHaveLength(2);
  });

  it("a retry records last_error and next_attempt_at while it waits", async () => {
    const overrides = { backoff: { baseMs: 1500, jitter: 0 }, maxAttempts: 3, allowPrivateNetworks: true };
    await withOwnDispatcher("wait", overrides, async ({ service: slowRetry, db: ownDb, tenantId: t }) => {
      receiver.behave("wait", (n) => ({ status: n === 1 ? 502 : 200 }));
      await slowRetry.register(t, { url: receiver.url("wait"), events: ["*"] });
      const [id] = await ownDb.transaction((tx) => slowRetry.emit(tx, { type: "tenant.created", tenantId: t }));
      const retrying = await waitFor("retrying", async () => {
        const d = await slowRetry.getDelivery(id!);
        return d.status === "retrying" ? d : undefined;
      });
      expect(retrying.last_error).toMatch(/HTTP 502: nope 502/);
      expect(retrying.attempts).toBe(1);
      expect(retrying.next_attempt_at!.getTime()).toBeGreaterThan(Date.now() + 500);
      const d = await waitFor("delivered after backoff", async () => {
        const x = await slowRetry.getDelivery(id!);
        return x.status === "delivered" ? x : undefined;
      });
      expect(d.attempts).toBe(2);
      const [a, b] = receiver.requests("wait");
      expect(b!.at - a!.at).toBeGreaterThanOrEqual(1400);
    });
  });

  it("410 Gone disables the webhook and dead-letters the delivery without retrying", async () => {
    const t = await tenant(null);
    receiver.behave("gone", () => ({ status: 410 }));
    const { webhook } = await svc.register(t, { url: receiver.url("gone"), events: ["*"] });
    const [id] = await emitCommitted(svc, "tenant.created", t);
    const d = await waitStatus(id!, "dead");
    expect(d.attempts).toBe(1);
    expect(d.last_error).toMatch(/410/);
    expect((await svc.get(webhook.id)).active).toBe(false);
    // a disabled webhook hears nothing more
    expect(await emitCommitted(svc, "tenant.created", t)).toEqual([]);
    const audit = await db.query<{ action: string }>(`SELECT action FROM stratum_audit WHERE target_id = $1 ORDER BY id`, [webhook.id]);
    expect(audit.map((a) => a.action)).toEqual(["webhook.create", "webhook.disable"]);
  });
});

describe("the outbox", () => {
  it("an event rolled back with its transaction is never delivered", async () => {
    const t = await tenant(null);
    const { webhook } = await svc.register(t, { url: receiver.url("rollback"), events: ["*"] });
    let emitted: string[] = [];
    await expect(
      db.transaction(async (tx) => {
        emitted = await svc.emit(tx, { type: "tenant.created", tenantId: t });
        throw new Error("caller failed after emitting");
      }),
    ).rejects.toThrow(/caller failed/);
    expect(emitted).toHaveLength(1);
    await svc.dispatchPending();
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests("rollback")).toHaveLength(0);
    expect(await svc.listDeliveries(webhook.id)).toEqual([]);
    expect(await (await svc.queue()).getJob(emitted[0]!)).toBeUndefined();
  });

  it("events committed while no process dispatches are delivered when one starts (nothing lives only in memory)", async () => {
    const t = await tenant(null);
    const idle = service({}, false);
    await idle.register(t, { url: receiver.url("later"), events: ["*"] });
    // `idle` never enqueues anything; the rows alone are enough for another process (svc) to deliver.
    const ids = await emitCommitted(idle, "config.updated", t);
    await idle.close();
    const d = await waitStatus(ids[0]!, "delivered");
    expect(d.attempts).toBe(1);
    expect(receiver.requests("later")).toHaveLength(1);
  });

  it("a delivery whose job vanished from Redis is re-enqueued; a live job is not duplicated", async () => {
    const t = await tenant(null);
    const { webhook } = await svc.register(t, { url: receiver.url("lost"), events: ["*"] });
    // A row that looks queued two minutes ago, with no job in Redis (as after a Redis restart).
    const rows = await db.query<{ id: string }>(
      `INSERT INTO stratum_deliveries (id, webhook_id, event, payload, status, attempts, next_attempt_at)
       VALUES (gen_random_uuid(), $1, 'tenant.created', $2::jsonb, 'queued', 0, now() - interval '2 minutes') RETURNING id`,
      [webhook.id, JSON.stringify({ id: randomUUID(), type: "tenant.created", tenant_id: t, occurred_at: new Date().toISOString(), data: null })],
    );
    await waitStatus(rows[0]!.id, "delivered");
    expect(receiver.requests("lost")).toHaveLength(1);
  });
});

describe("the tenant tree", () => {
  it("an ancestor's webhook receives a child's event, a sibling's does not", async () => {
    const root = await tenant(null);
    const msp = await tenant(root);
    const clientA = await tenant(msp);
    const clientB = await tenant(msp);
    await svc.register(root, { url: receiver.url("tree-root"), events: ["*"] });
    await svc.register(msp, { url: receiver.url("tree-msp"), events: ["tenant.*"] });
    await svc.register(clientA, { url: receiver.url("tree-a"), events: ["tenant.updated"] });
    await svc.register(clientB, { url: receiver.url("tree-b"), events: ["*"] });
    await svc.register(msp, { url: receiver.url("tree-msp-config"), events: ["config.updated"] });

    const ids = await emitCommitted(svc, "tenant.updated", clientA, { name: "Alpha" });
    expect(ids).toHaveLength(3);
    await Promise.all(ids.map((id) => waitStatus(id, "delivered")));
    for (const name of ["tree-root", "tree-msp", "tree-a"]) {
      expect(receiver.requests(name)).toHaveLength(1);
      expect(JSON.parse(receiver.requests(name)[0]!.body)).toMatchObject({ tenant_id: clientA, type: "tenant.updated" });
    }
    expect(receiver.requests("tree-b")).toHaveLength(0);
    expect(receiver.requests("tree-msp-config")).toHaveLength(0);
    // One event, one event id across its deliveries; one delivery id each.
    const bodies = ["tree-root", "tree-msp", "tree-a"].map((n) => JSON.parse(receiver.requests(n)[0]!.body) as { id: string });
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);

    // the MSP's own event does not reach its children
    const mspIds = await emitCommitted(svc, "tenant.updated", msp);
    expect(mspIds).toHaveLength(2);
  });

  it("matches exact types, prefixes and *", () => {
    expect(matchingPatterns("tenant.created")).toEqual(["tenant.created", "*", "tenant.*"]);
    expect(matchingPatterns("a.b.c")).toEqual(["a.b.c", "*", "a.b.*", "a.*"]);
  });
});

describe("egress: no webhook reaches the deployment's own network (SSRF)", () => {
  it("refuses private, loopback and link-local IP literals at registration unless allowed", async () => {
    const strict = service({ allowPrivateNetworks: false }, false);
    try {
      const t = await tenant(null);
      for (const url of [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.20.0.1/hook",
        "https://127.0.0.1/hook",
        "http://127.0.0.1:8080/hook",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[fd00::1]/hook",
        "https://localhost/hook",
      ]) {
        expect(await code(strict.register(t, { url, events: ["*"] })), url).toBe("VALIDATION_FAILED");
      }
      expect((await strict.register(t, { url: "https://93.184.216.34/hook", events: ["*"] })).webhook.url).toBe("https://93.184.216.34/hook");
      const allowed = service({ allowPrivateNetworks: false, allowHosts: ["localhost"] }, false);
      expect((await allowed.register(t, { url: "http://localhost:9/hook", events: ["*"] })).webhook.url).toBe("http://localhost:9/hook");
    } finally {
      await strict.close();
    }
  });

  it("a name that resolves inward is refused at delivery: dead with the reason, the receiver never called", async () => {
    // Its own dispatcher, so no permissive one of this file picks the delivery up.
    await withOwnDispatcher("egress", {}, async ({ service: strict, db: ownDb, tenantId: t, queue }) => {
      receiver.behave("inward", () => ({ status: 204 }));
      // The machine's own name points at the receiver on loopback (/etc/hosts): registered (no
      // DNS at registration), refused when the worker resolves it.
      const host = hostname();
      const addresses = await lookup(host, { all: true });
      expect(
        addresses.every((a) => isPrivateAddress(a.address)),
        `${host} resolves to ${JSON.stringify(addresses)}`,
      ).toBe(true);
      const url = receiver.url("inward").replace("127.0.0.1", host);
      const inward = createWebhookService(ownDb, {
        audit: createAuditService(ownDb),
        redis: redisUrl(),
        queueName: queue,
        allowInsecure: true,
        onError: () => undefined,
      });
      await inward.register(t, { url, events: ["*"] });
      await inward.close();
      const [id] = await ownDb.transaction((tx) => strict.emit(tx, { type: "tenant.created", tenantId: t }));
      const dead = await waitFor("refused delivery", async () => {
        const d = await strict.getDelivery(id!);
        return d.status === "dead" ? d : undefined;
      });
      expect(dead.last_error).toMatch(new RegExp(`refused: ${host} resolves to private or loopback address`));
      expect(receiver.requests("inward")).toHaveLength(0);
    });
  });
});

describe("registration", () => {
  it("validates urls, events and tenants, and audits changes without the secret", async () => {
    const t = await tenant(null);
    expect(await code(svc.register(t, { url: "http://example.com/hook", events: ["*"] }))).toBe("VALIDATION_FAILED");
    expect(await code(svc.register(t, { url: "ftp://example.com", events: ["*"] }))).toBe("VALIDATION_FAILED");
    expect(await code(svc.register(t, { url: "https://u:p@example.com", events: ["*"] }))).toBe("VALIDATION_FAILED");
    expect(await code(svc.register(t, { url: "https://example.com", events: [] }))).toBe("VALIDATION_FAILED");
    expect(await code(svc.register(t, { url: "https://example.com", events: ["Tenant.Created"] }))).toBe("VALIDATION_FAILED");
    expect(await code(svc.register(t, { url: "https://example.com", events: ["tenant.*.x"] }))).toBe("VALIDATION_FAILED");
    expect(await code(svc.register(randomUUID(), { url: "https://example.com", events: ["*"] }))).toBe("TENANT_NOT_FOUND");
    for (const ok of ["https://example.com/h", "http://localhost:3000/h", "http://127.0.0.1/h", "http://[::1]:9/h"]) {
      expect((await svc.register(t, { url: ok, events: ["*"] })).webhook.url).toBe(ok);
    }
    const insecure = service({ allowInsecure: true }, false);
    expect((await insecure.register(t, { url: "http://example.com/h", events: ["*"] })).webhook.url).toBe("http://example.com/h");
    await insecure.close();

    const { webhook, secret } = await svc.register(t, { url: "https://example.com/a", events: ["tenant.*", "tenant.*"] });
    expect(webhook.events).toEqual(["tenant.*"]);
    const updated = await svc.update(webhook.id, { events: ["config.updated"], active: false });
    expect(updated).toMatchObject({ url: "https://example.com/a", events: ["config.updated"], active: false });
    expect((await svc.list(t)).map((w) => w.id)).toContain(webhook.id);
    await svc.delete(webhook.id);
    expect(await code(svc.get(webhook.id))).toBe("NOT_FOUND");
    expect(await code(svc.update(webhook.id, { active: true }))).toBe("NOT_FOUND");
    const audit = await db.query<{ action: string; after: unknown; before: unknown }>(
      `SELECT action, after, before FROM stratum_audit WHERE target_id = $1 ORDER BY id`,
      [webhook.id],
    );
    expect(audit.map((a) => a.action)).toEqual(["webhook.create", "webhook.update", "webhook.delete"]);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it("emit refuses unknown tenants and bad event types inside the caller's transaction", async () => {
    expect(await code(db.transaction((tx) => svc.emit(tx, { type: "tenant.created", tenantId: randomUUID() })))).toBe("TENANT_NOT_FOUND");
    const t = await tenant(null);
    expect(await code(db.transaction((tx) => svc.emit(tx, { type: "created", tenantId: t })))).toBe("VALIDATION_FAILED");
    expect(await code(db.transaction((tx) => svc.emit(tx, { type: "a.*", tenantId: t })))).toBe("VALIDATION_FAILED");
  });

  it("backoff is exponential, capped and jittered downwards", () => {
    const o = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, o, () => 0))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(3, o, () => 1)).toBe(200);
    expect(backoffDelay(3, { ...o, jitter: 0 }, () => 1)).toBe(400);
  });
});

describe("events from the audit trail (withWebhookEvents)", () => {
  it("turns the services' audit rows into events in the same transaction, redacted, heard up the tree", async () => {
    const audit = withWebhookEvents(createAuditService(db), svc);
    expect(typeof audit.list).toBe("function"); // still an AuditService
    const tenants = createTenantService(db, { audit });
    const config = createConfigService(db, { audit, cipher });
    const root = await tenants.createTenant({ name: "Acme Sec", slug: `acme_${randomBytes(3).toString("hex")}` });
    const { secret } = await svc.register(root.id, { url: receiver.url("audit-root"), events: ["tenant.*", "config.updated"] });
    const msp = await tenants.createTenant({ name: "Northstar", slug: `ns_${randomBytes(3).toString("hex")}`, parent_id: root.id });
    await config.setConfig(msp.id, "api_token", { value: "hunter2", sensitive: true });
    await config.setConfig(msp.id, "theme", { value: "dark" });
    await tenants.archiveTenant(msp.id);
    // a failed write emits nothing: the slug is taken, the transaction rolls back
    await expect(tenants.createTenant({ name: "dup", slug: root.slug })).rejects.toThrow();

    await waitFor("four events", async () => receiver.requests("audit-root").length >= 4);
    await new Promise((r) => setTimeout(r, 150));
    const bodies = receiver.requests("audit-root").map((r) => {
      expect(verifyWebhookSignature(secret, r.headers, r.body).ok).toBe(true);
      return JSON.parse(r.body) as { type: string; tenant_id: string; data: { action: string; target_id: string; after: unknown } };
    });
    expect(bodies.map((b) => b.type).sort()).toEqual(["config.updated", "config.updated", "tenant.archived", "tenant.created"]);
    expect(bodies.every((b) => b.tenant_id === msp.id)).toBe(true);
    expect(bodies.find((b) => b.type === "tenant.created")!.data).toMatchObject({ action: "tenant.create", target_id: msp.id });
    expect(JSON.stringify(bodies)).not.toContain("hunter2");
  });
});
