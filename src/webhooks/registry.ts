/**
 * The registry: a tenant's webhook endpoints — which URL hears which events — and their secrets.
 * Every change is audited in its own transaction; a URL must be https (or http to localhost) and,
 * unless allowed, public (egress.ts), checked here for literals and again at each delivery.
 */
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { validate } from "../core/validate.js";
import { literalRefusal, type EgressPolicy } from "./egress.js";
import type { SecretBox } from "./secrets.js";
import type { WebhookService, WebhookServiceDeps, Webhook } from "./types.js";

/** The registry's part of the service. */
export type WebhookRegistry = Pick<WebhookService, "register" | "update" | "delete" | "list" | "get" | "rotateSecret">;

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const EVENT_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;
const WEBHOOK_COLUMNS = `id, tenant_id, url, events, active, created_at`;

function urlSchema(allowInsecure: boolean, egress: EgressPolicy) {
  return z
    .string()
    .max(2000)
    .refine((value) => {
      let u: URL;
      try {
        u = new URL(value);
      } catch {
        return false;
      }
      if (u.username || u.password) return false;
      if (u.protocol === "https:") return true;
      return u.protocol === "http:" && (allowInsecure || LOCAL_HOSTS.has(u.hostname));
    }, "must be an https:// URL without credentials (http:// only to localhost, 127.0.0.1 or ::1 unless allowInsecure)")
    .superRefine((value, ctx) => {
      const refusal = URL.canParse(value) ? literalRefusal(new URL(value), egress) : undefined;
      if (refusal) ctx.addIssue({ code: "custom", message: `${refusal}: webhooks go to public addresses only (allowPrivateNetworks / allowHosts to exempt)` });
    });
}

const eventsSchema = z
  .array(z.string().max(200).regex(EVENT_PATTERN, "an event type (tenant.created), a prefix (tenant.*) or *"))
  .min(1)
  .max(100)
  .transform((events) => [...new Set(events)]);

async function requireTenant(q: Db, tenantId: string): Promise<void> {
  const rows = await q.query(`SELECT 1 AS ok FROM public.stratum_tenants WHERE id = $1::uuid`, [tenantId]);
  if (rows.length === 0) throw new StratumError("TENANT_NOT_FOUND", `Tenant ${tenantId} does not exist.`, { tenantId });
}

async function loadWebhook(q: Db, webhookId: string, lock = false): Promise<Webhook> {
  validate(z.uuid(), webhookId, "webhook id");
  const rows = await q.query<Webhook>(`SELECT ${WEBHOOK_COLUMNS} FROM public.stratum_webhooks WHERE id = $1::uuid${lock ? " FOR UPDATE" : ""}`, [webhookId]);
  const row = rows[0];
  if (!row) throw new StratumError("NOT_FOUND", `Webhook ${webhookId} does not exist.`, { webhookId });
  return row;
}

/** `egress` is the service's policy: the registry refuses literal private addresses with it. */
export function createWebhookRegistry(
  db: Db,
  deps: Pick<WebhookServiceDeps, "audit" | "allowInsecure">,
  egress: EgressPolicy,
  secrets: SecretBox,
): WebhookRegistry {
  const url = urlSchema(deps.allowInsecure ?? false, egress);
  const inputSchema = z.object({ url, events: eventsSchema, active: z.boolean().optional() });
  const patchSchema = z.object({ url: url.optional(), events: eventsSchema.optional(), active: z.boolean().optional() });

  return {
    async register(tenantId, input) {
      validate(z.uuid(), tenantId, "tenant id");
      const i = validate(inputSchema, input, "webhook");
      return db.transaction(async (tx) => {
        await requireTenant(tx, tenantId);
        const idRows = await tx.query<{ id: string }>(`SELECT gen_random_uuid()::text AS id`);
        const id = idRows[0]!.id;
        const secret = secrets.newSecret();
        const rows = await tx.query<Webhook>(
          `INSERT INTO public.stratum_webhooks (id, tenant_id, url, secret, events, active, created_at)
           VALUES ($1::uuid, $2::uuid, $3, $4, $5::text[], $6, now())
           RETURNING ${WEBHOOK_COLUMNS}`,
          [id, tenantId, i.url, secrets.seal(secret, tenantId, id), i.events, i.active ?? true],
        );
        const webhook = rows[0]!;
        await deps.audit.record(tx, {
          tenantId,
          action: "webhook.create",
          targetType: "webhook",
          targetId: id,
          after: { url: webhook.url, events: webhook.events, active: webhook.active },
        });
        return { webhook, secret };
      });
    },

    async update(webhookId, patch) {
      const p = validate(patchSchema, patch, "webhook update");
      return db.transaction(async (tx) => {
        const before = await loadWebhook(tx, webhookId, true);
        const rows = await tx.query<Webhook>(
          `UPDATE public.stratum_webhooks
              SET url = COALESCE($2, url), events = COALESCE($3::text[], events), active = COALESCE($4, active)
            WHERE id = $1::uuid
            RETURNING ${WEBHOOK_COLUMNS}`,
          [webhookId, p.url ?? null, p.events ?? null, p.active ?? null],
        );
        const after = rows[0]!;
        await deps.audit.record(tx, {
          tenantId: after.tenant_id,
          action: "webhook.update",
          targetType: "webhook",
          targetId: webhookId,
          before: { url: before.url, events: before.events, active: before.active },
          after: { url: after.url, events: after.events, active: after.active },
        });
        return after;
      });
    },

    async delete(webhookId) {
      await db.transaction(async (tx) => {
        const before = await loadWebhook(tx, webhookId, true);
        // Deliveries go with it (ON DELETE CASCADE); jobs still queued find no row and are skipped.
        await tx.execute(`DELETE FROM public.stratum_webhooks WHERE id = $1::uuid`, [webhookId]);
        await deps.audit.record(tx, {
          tenantId: before.tenant_id,
          action: "webhook.delete",
          targetType: "webhook",
          targetId: webhookId,
          before: { url: before.url, events: before.events, active: before.active },
        });
      });
    },

    async list(tenantId) {
      validate(z.uuid(), tenantId, "tenant id");
      return db.query<Webhook>(`SELECT ${WEBHOOK_COLUMNS} FROM public.stratum_webhooks WHERE tenant_id = $1::uuid ORDER BY created_at, id`, [tenantId]);
    },

    get: (webhookId) => loadWebhook(db, webhookId),

    async rotateSecret(webhookId) {
      return db.transaction(async (tx) => {
        const webhook = await loadWebhook(tx, webhookId, true);
        const secret = secrets.newSecret();
        await tx.execute(`UPDATE public.stratum_webhooks SET secret = $2 WHERE id = $1::uuid`, [webhookId, secrets.seal(secret, webhook.tenant_id, webhookId)]);
        await deps.audit.record(tx, { tenantId: webhook.tenant_id, action: "webhook.rotate_secret", targetType: "webhook", targetId: webhookId });
        return secret;
      });
    },
  };
}
