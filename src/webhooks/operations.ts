/**
 * What an operator does with webhooks day to day, on top of the delivery outbox: how a webhook
 * is doing (counts per status), which deliveries gave up (the dead letters), retrying them all
 * at once, sending a test event to one endpoint, and the catalogue of event types to subscribe to.
 * Retries follow `replay`: a dead delivery goes back to `pending` and the poller sends it again.
 */
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink } from "../core/ports.js";
import { validate } from "../core/validate.js";
import { EVENT_NAMES } from "./audit-events.js";
import type { Delivery, DeliveryStatus, WebhookPayload } from "./service.js";

/** The event a test send carries; every webhook receives it, whatever it subscribed to. */
export const WEBHOOK_TEST_EVENT = "webhook.test";

export interface WebhookEventType {
  type: string;
  /** What causes it: the audit action it mirrors, or "test send". */
  emitted_on: string;
}

export interface WebhookStats {
  webhook_id: string;
  total: number;
  by_status: Record<DeliveryStatus, number>;
  last_delivered_at: Date | null;
  last_failed_at: Date | null;
  last_error: string | null;
}

export interface WebhookOperations {
  stats(webhookId: string): Promise<WebhookStats>;
  /** Dead deliveries of the tenant's own webhooks, newest first. */
  deadLetters(tenantId: string, options?: { limit?: number }): Promise<Delivery[]>;
  /** Every dead delivery of the webhook back to pending; returns their ids. */
  retryDead(webhookId: string): Promise<string[]>;
  /** Queues a `webhook.test` delivery to this webhook only. */
  sendTest(webhookId: string): Promise<Delivery>;
}

const DELIVERY_COLUMNS = "d.id, d.webhook_id, d.event, d.payload, d.status, d.attempts, d.last_error, d.next_attempt_at, d.created_at";

export function webhookEventCatalogue(): WebhookEventType[] {
  const types = Object.entries(EVENT_NAMES).map(([action, type]) => ({ type, emitted_on: action }));
  return [...types, { type: WEBHOOK_TEST_EVENT, emitted_on: "test send" }].sort((a, b) => a.type.localeCompare(b.type));
}

export function createWebhookOperations(db: Db, audit: AuditSink): WebhookOperations {
  async function ownerOf(q: Db, webhookId: string): Promise<string> {
    validate(z.uuid(), webhookId, "webhook id");
    const rows = await q.query<{ tenant_id: string }>(`SELECT tenant_id::text FROM public.stratum_webhooks WHERE id = $1::uuid`, [webhookId]);
    if (!rows[0]) throw new StratumError("NOT_FOUND", `Webhook ${webhookId} does not exist.`, { webhookId });
    return rows[0].tenant_id;
  }

  return {
    async stats(webhookId) {
      await ownerOf(db, webhookId);
      const counts = await db.query<{ status: DeliveryStatus; n: number }>(
        `SELECT status, count(*)::int AS n FROM public.stratum_deliveries WHERE webhook_id = $1::uuid GROUP BY status`,
        [webhookId],
      );
      const by_status: Record<DeliveryStatus, number> = { pending: 0, queued: 0, retrying: 0, delivered: 0, dead: 0 };
      for (const row of counts) by_status[row.status] = row.n;
      const last = await db.query<{ last_delivered_at: Date | null; last_failed_at: Date | null; last_error: string | null }>(
        `SELECT (SELECT max(created_at) FROM public.stratum_deliveries WHERE webhook_id = $1::uuid AND status = 'delivered') AS last_delivered_at,
                f.created_at AS last_failed_at, f.last_error
           FROM (SELECT 1) one
           LEFT JOIN LATERAL (SELECT created_at, last_error FROM public.stratum_deliveries
                               WHERE webhook_id = $1::uuid AND last_error IS NOT NULL ORDER BY created_at DESC LIMIT 1) f ON true`,
        [webhookId],
      );
      const total = counts.reduce((sum, row) => sum + row.n, 0);
      return { webhook_id: webhookId, total, by_status, ...last[0]! };
    },

    async deadLetters(tenantId, options = {}) {
      validate(z.uuid(), tenantId, "tenant id");
      const limit = validate(z.number().int().min(1).max(500).default(100), options.limit, "limit");
      return db.query<Delivery>(
        `SELECT ${DELIVERY_COLUMNS} FROM public.stratum_deliveries d JOIN public.stratum_webhooks w ON w.id = d.webhook_id
          WHERE w.tenant_id = $1::uuid AND d.status = 'dead' ORDER BY d.created_at DESC, d.id LIMIT $2`,
        [tenantId, limit],
      );
    },

    retryDead: (webhookId) =>
      db.transaction(async (tx) => {
        const tenantId = await ownerOf(tx, webhookId);
        const rows = await tx.query<{ id: string }>(
          `UPDATE public.stratum_deliveries SET status = 'pending', last_error = NULL, next_attempt_at = now()
            WHERE webhook_id = $1::uuid AND status = 'dead' RETURNING id::text`,
          [webhookId],
        );
        await audit.record(tx, { tenantId, action: "webhook.retry_dead", targetType: "webhook", targetId: webhookId, after: { retried: rows.length } });
        return rows.map((r) => r.id);
      }),

    sendTest: (webhookId) =>
      db.transaction(async (tx) => {
        const tenantId = await ownerOf(tx, webhookId);
        const ids = await tx.query<{ id: string; at: string }>(
          `SELECT gen_random_uuid()::text AS id, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at`,
        );
        const payload: WebhookPayload = { id: ids[0]!.id, type: WEBHOOK_TEST_EVENT, tenant_id: tenantId, occurred_at: ids[0]!.at, data: { test: true } };
        const rows = await tx.query<Delivery>(
          `INSERT INTO public.stratum_deliveries AS d (id, webhook_id, event, payload, status, attempts, next_attempt_at, created_at)
           VALUES (gen_random_uuid(), $1::uuid, $2, $3::jsonb, 'pending', 0, now(), now())
           RETURNING ${DELIVERY_COLUMNS}`,
          [webhookId, WEBHOOK_TEST_EVENT, JSON.stringify(payload)],
        );
        await audit.record(tx, { tenantId, action: "webhook.test", targetType: "webhook", targetId: webhookId });
        return rows[0]!;
      }),
  };
}
