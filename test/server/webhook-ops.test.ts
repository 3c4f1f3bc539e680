/**
 * Webhook operations over HTTP, with real deliveries: a local receiver, BullMQ on the run's
 * Redis, PostgreSQL. A failing endpoint leaves dead deliveries; stats, the dead letters, retry one
 * and retry all, a test send and the event catalogue are checked against what the receiver got.
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter, verifyWebhookSignature } from "../../src/index.js";
import { stratum as sdk, type StratumSdk } from "../../src/sdk/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { redisUrl } from "../harness/redis.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";
import { waitFor } from "../support/wait.js";

interface Delivery {
  id: string;
  status: string;
  event: string;
  attempts: number;
  webhook_id: string;
}

let f: ServerFixture;
let receiver: WebhookReceiver;
let app: FastifyInstance;
let close: () => Promise<void>;
let tenant: string;
let s: StratumSdk;

const call = (method: "GET" | "POST", url: string, payload?: object) =>
  app.inject({ method, url, headers: { "x-api-key": BOOTSTRAP }, ...(payload ? { payload } : {}) });

beforeAll(async () => {
  f = await serverFixture("srv_wh_ops");
  receiver = await startWebhookReceiver();
  const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: f.db.appUrl }) });
  const prisma = base.$extends(
    stratum({
      models: stratumModels,
      scopeKey: f.db.scopeKey,
      webhooks: {
        redis: redisUrl(),
        queueName: `srv-wh-ops-${randomBytes(4).toString("hex")}`,
        allowPrivateNetworks: true,
        maxAttempts: 1,
        pollIntervalMs: 30,
        timeoutMs: 2000,
        onError: () => undefined,
      },
    }),
  );
  app = createControlPlane({ prisma, bootstrapKey: BOOTSTRAP });
  // A real port too, for the SDK.
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  s = sdk({ controlPlaneUrl: url, apiKey: BOOTSTRAP });
  close = async () => {
    await app.close();
    await prisma.$stratum.close();
    await base.$disconnect();
  };
  tenant = expectStatus<{ id: string }>(await call("POST", "/api/v1/tenants", { name: "Hook Owner" }), 201).id;
});
afterAll(async () => {
  await close?.();
  await receiver?.close();
  await f?.close();
});

describe("webhook operations", () => {
  it("lists the event catalogue, including the test event", async () => {
    const events = expectStatus<Array<{ type: string; emitted_on: string }>>(await call("GET", "/api/v1/webhook-events"), 200);
    expect(events).toEqual(
      expect.arrayContaining([
        { type: "tenant.created", emitted_on: "tenant.create" },
        { type: "webhook.test", emitted_on: "test send" },
      ]),
    );
  });

  it("a test send reaches this webhook only, signed; the log and the stats show it", async () => {
    receiver.behave("ok", () => ({ status: 200 }));
    const hook = expectStatus<{ webhook: { id: string }; secret: string }>(
      await call("POST", `/api/v1/tenants/${tenant}/webhooks`, { url: receiver.url("ok"), events: ["config.*"] }),
      201,
    );
    const queued = expectStatus<Delivery>(await call("POST", `/api/v1/tenants/${tenant}/webhooks/${hook.webhook.id}/test`), 202);
    expect(queued).toMatchObject({ event: "webhook.test", webhook_id: hook.webhook.id });
    const request = await waitFor("test delivery", async () => receiver.requests("ok")[0]);
    expect(JSON.parse(request.body)).toMatchObject({ type: "webhook.test", tenant_id: tenant, data: { test: true } });
    expect(verifyWebhookSignature(hook.secret, request.headers as Record<string, string>, request.body).ok).toBe(true);

    await waitFor(
      "delivered",
      async () =>
        expectStatus<Delivery[]>(await call("GET", `/api/v1/tenants/${tenant}/webhooks/${hook.webhook.id}/deliveries?status=delivered`), 200).length === 1,
    );
    const stats = expectStatus<{ total: number; by_status: Record<string, number>; last_delivered_at: string | null }>(
      await call("GET", `/api/v1/tenants/${tenant}/webhooks/${hook.webhook.id}/stats`),
      200,
    );
    expect(stats.total).toBe(1);
    expect(stats.by_status).toMatchObject({ delivered: 1, dead: 0 });
    expect(stats.last_delivered_at).not.toBeNull();
  });

  it("dead deliveries show in the dead letters; retry one and retry all send them again", async () => {
    let healthy = false;
    receiver.behave("flaky", () => ({ status: healthy ? 200 : 500 }));
    const hook = expectStatus<{ webhook: { id: string } }>(
      await call("POST", `/api/v1/tenants/${tenant}/webhooks`, { url: receiver.url("flaky"), events: ["webhook.none"] }),
      201,
    );
    const path = `/api/v1/tenants/${tenant}/webhooks/${hook.webhook.id}`;
    for (let i = 0; i < 3; i++) expectStatus(await call("POST", `${path}/test`), 202);
    const dead = await waitFor("three dead", async () => {
      const rows = expectStatus<Delivery[]>(await call("GET", `/api/v1/tenants/${tenant}/webhook-dead-letters`), 200);
      return rows.filter((d) => d.webhook_id === hook.webhook.id).length === 3 && rows;
    });
    const stats = expectStatus<{ by_status: Record<string, number>; last_error: string | null }>(await call("GET", `${path}/stats`), 200);
    expect(stats.by_status.dead).toBe(3);
    expect(stats.last_error).toContain("500");

    healthy = true;
    const one = dead.find((d) => d.webhook_id === hook.webhook.id)!;
    expect(expectStatus<Delivery>(await call("POST", `${path}/deliveries/${one.id}/retry`), 200).status).toBe("pending");
    await waitFor("one redelivered", async () => receiver.requests("flaky").length === 4);
    const all = expectStatus<{ retried: number; delivery_ids: string[] }>(await call("POST", `${path}/retry-dead`), 200);
    expect(all.retried).toBe(2);
    expect(all.delivery_ids).not.toContain(one.id);
    await waitFor("all delivered", async () => {
      const s = expectStatus<{ by_status: Record<string, number> }>(await call("GET", `${path}/stats`), 200);
      return s.by_status.delivered === 3 && s.by_status.dead === 0;
    });
    expect(expectStatus<Delivery[]>(await call("GET", `/api/v1/tenants/${tenant}/webhook-dead-letters`), 200)).toEqual([]);
  });

  it("a delivery of another webhook is not found under this one", async () => {
    const hooks = expectStatus<Array<{ id: string }>>(await call("GET", `/api/v1/tenants/${tenant}/webhooks`), 200);
    const [a, b] = hooks;
    const log = expectStatus<Delivery[]>(await call("GET", `/api/v1/tenants/${tenant}/webhooks/${a!.id}/deliveries`), 200);
    const res = await call("POST", `/api/v1/tenants/${tenant}/webhooks/${b!.id}/deliveries/${log[0]!.id}/retry`);
    expect(res.statusCode).toBe(404);
  });

  it("the SDK covers the same operations", async () => {
    receiver.behave("sdk", () => ({ status: 200 }));
    const { webhook } = await s.webhooks.create(tenant, { url: receiver.url("sdk"), events: ["tenant.*"] });
    expect((await s.webhooks.events()).map((e) => e.type)).toContain("webhook.test");
    const queued = await s.webhooks.sendTest(tenant, webhook.id);
    await waitFor("sdk delivery", async () => (await s.webhooks.deliveries(tenant, webhook.id, { status: "delivered" })).length === 1);
    expect((await s.webhooks.stats(tenant, webhook.id)).by_status.delivered).toBe(1);
    expect((await s.webhooks.retryDelivery(tenant, webhook.id, queued.id)).status).toBe("pending");
    expect(await s.webhooks.retryDead(tenant, webhook.id)).toEqual({ retried: 0, delivery_ids: [] });
    expect(await s.webhooks.deadLetters(tenant, { limit: 10 })).toEqual([]);
  });
});
