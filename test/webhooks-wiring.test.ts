/** Webhooks through $stratum: tenant and config mutations reach the tenant's and its ancestors' receivers, signed. */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/prisma/client.js";
import { stratumModels } from "../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../src/index.js";
import { verifyWebhookSignature } from "../src/webhooks/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { injected } from "./harness/context.js";
import { waitFor } from "./support/wait.js";

interface Received {
  event: string;
  body: { type: string; tenant_id?: string; data?: unknown };
  valid: boolean;
}
let db: TestDatabase;
let server: Server;
let url: string;
const received: Received[] = [];
let client: ReturnType<typeof makeClient>;
const secrets = new Map<string, string>();

function makeClient(encryptionKeys?: Record<string, string>, currentKeyVersion?: number) {
  const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl }) });
  const prisma = base.$extends(
    stratum({
      models: stratumModels,
      scopeKey: db.scopeKey,
      ...(encryptionKeys ? { encryptionKeys, ...(currentKeyVersion !== undefined ? { currentKeyVersion } : {}) } : {}),
      webhooks: {
        redis: injected("redisUrl"),
        queueName: `wh-wiring-${randomBytes(4).toString("hex")}`,
        pollIntervalMs: 50,
        backoff: { baseMs: 10, maxMs: 50 },
        allowPrivateNetworks: true,
      },
    }),
  );
  return {
    prisma,
    close: async () => {
      await prisma.$stratum.close();
      await base.$disconnect();
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of req) body += chunk;
  return body;
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "whwire" });
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    const hook = String(req.url).slice(1);
    const verdict = verifyWebhookSignature(secrets.get(hook) ?? "", req.headers, body);
    received.push({ event: String(req.headers["x-stratum-event"]), body: JSON.parse(body), valid: verdict.ok });
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = makeClient();
});

afterAll(async () => {
  await client?.close();
  await new Promise((r) => server?.close(r));
  await db?.drop();
});

describe("webhooks through $stratum", () => {
  it("delivers a child's config change to the parent's webhook, signed, and not to a sibling's", async () => {
    const $ = client.prisma.$stratum;
    const root = await $.createTenant({ name: "Hook Root" });
    const child = await $.createTenant({ name: "Hook Child", parent_id: root.id });
    const sibling = await $.createTenant({ name: "Hook Sibling", parent_id: root.id });
    const onRoot = await $.registerWebhook(root.id, { url: `${url}/root`, events: ["config.*"] });
    const onSibling = await $.registerWebhook(sibling.id, { url: `${url}/sibling`, events: ["*"] });
    secrets.set("root", onRoot.secret);
    secrets.set("sibling", onSibling.secret);
    await $.setConfig(child.id, "max_users", { value: 5 });
    const got = await waitFor("the delivery", () => received.find((r) => r.event === "config.updated"));
    expect(got.valid).toBe(true);
    expect(JSON.stringify(got.body)).toContain(child.id);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.filter((r) => r.event === "config.updated")).toHaveLength(1);
  });

  it("refuses webhook calls clearly when webhooks are not configured", async () => {
    const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl }) });
    const plain = base.$extends(stratum({ models: stratumModels, scopeKey: db.scopeKey }));
    try {
      await expect(plain.$stratum.listWebhooks("00000000-0000-4000-8000-000000000001")).rejects.toThrow(/Webhooks are not configured/);
    } finally {
      await base.$disconnect();
    }
  });

  it("rotateKeys re-seals webhook secrets with the new key, and deliveries still sign with the same secret", async () => {
    const K1 = randomBytes(32).toString("base64");
    const K2 = randomBytes(32).toString("base64");
    let before: ReturnType<typeof makeClient> | undefined = makeClient({ v1: K1 });
    let after: ReturnType<typeof makeClient> | undefined;
    try {
      const t = await before.prisma.$stratum.createTenant({ name: "Hook Rotate" });
      const { webhook, secret } = await before.prisma.$stratum.registerWebhook(t.id, { url: `${url}/rotate`, events: ["config.*"] });
      secrets.set("rotate", secret);
      const stored = async () => {
        const c = new pg.Client({ connectionString: db.adminUrl });
        await c.connect();
        try {
          return (await c.query<{ secret: string }>("SELECT secret FROM stratum_webhooks WHERE id = $1", [webhook.id])).rows[0]!.secret;
        } finally {
          await c.end();
        }
      };
      expect(await stored()).toMatch(/^stratum:v1:/);
      await before.close();
      before = undefined;
      after = makeClient({ v1: K1, v2: K2 }, 2);
      const result = await after.prisma.$stratum.rotateKeys();
      expect(result.failed).toEqual([]);
      expect(result.targets.find((x) => x.table === "stratum_webhooks")?.rotated).toBeGreaterThanOrEqual(1);
      expect(await stored()).toMatch(/^stratum:v2:/);
      // Only the new key from here on: the re-sealed secret still signs deliveries the receiver accepts.
      // A process still holding only the old key runs meanwhile (a rollout) and so does `client`, with
      // no key: neither can open the secret, so neither may claim the delivery (it used to, failed
      // every attempt and left it dead); the process holding v2 delivers it.
      await after.close();
      before = makeClient({ v1: K1 });
      after = makeClient({ v2: K2 }, 2);
      await after.prisma.$stratum.setConfig(t.id, "rotated", { value: true });
      const got = await waitFor("the delivery", () => received.find((r) => r.event === "config.updated" && JSON.stringify(r.body).includes(t.id)));
      expect(got.valid).toBe(true);
    } finally {
      await before?.close().catch(() => undefined);
      await after?.close().catch(() => undefined);
    }
  });

  it("deleting a tenant removes its webhooks", async () => {
    const $ = client.prisma.$stratum;
    const t = await $.createTenant({ name: "Hook Doomed" });
    await $.registerWebhook(t.id, { url: `${url}/doomed`, events: ["*"] });
    await $.deleteTenant(t.id);
    expect(await $.listWebhooks(t.id)).toEqual([]);
  });
});
