/**
 * The outbox: `emit(tx, event)` only inserts `stratum_deliveries` rows (status `pending`) in the
 * caller's transaction, so an event exists exactly when the change that caused it committed: a
 * rollback leaves nothing to send, and a crash or a Redis outage right after the commit loses
 * nothing, because the rows are still `pending` in PostgreSQL (dispatcher.ts moves them on).
 * Enqueueing after the caller's transaction returns would lose the event whenever the process
 * died, or Redis refused, between the commit and the enqueue. Here too: reading deliveries, and
 * replaying one (back to `pending`).
 */
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { validate } from "../core/validate.js";
import type { Delivery, JsonValue, WebhookPayload, WebhookService, WebhookServiceDeps } from "./types.js";

/** The outbox's part of the service. */
export type WebhookOutbox = Pick<WebhookService, "emit" | "replay" | "getDelivery" | "listDeliveries">;

const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const STATUSES = ["pending", "queued", "retrying", "delivered", "dead"] as const;
const DELIVERY_COLUMNS = `id, webhook_id, event, payload, status, attempts, last_error, next_attempt_at, created_at`;

const eventSchema = z.object({
  type: z.string().max(200).regex(EVENT_TYPE, "a dotted event type like tenant.created"),
  tenantId: z.uuid(),
  data: z.unknown().optional(),
});

/** The subscription patterns that match `type`: itself, each `prefix.*`, and `*`. */
export function matchingPatterns(type: string): string[] {
  const parts = type.split(".");
  const patterns = [type, "*"];
  for (let i = parts.length - 1; i >= 1; i--) patterns.push(`${parts.slice(0, i).join(".")}.*`);
  return patterns;
}

async function loadDelivery(q: Db, deliveryId: string): Promise<Delivery> {
  validate(z.uuid(), deliveryId, "delivery id");
  const rows = await q.query<Delivery>(`SELECT ${DELIVERY_COLUMNS} FROM public.stratum_deliveries WHERE id = $1::uuid`, [deliveryId]);
  const row = rows[0];
  if (!row) throw new StratumError("NOT_FOUND", `Delivery ${deliveryId} does not exist.`, { deliveryId });
  return row;
}

/** `dispatchPending` is the dispatcher's: a replay tries to send at once. */
export function createOutbox(
  db: Db,
  deps: Pick<WebhookServiceDeps, "audit">,
  dispatchPending: () => Promise<number>,
  onError: (error: unknown) => void,
): WebhookOutbox {
  return {
    async emit(tx, event) {
      const e = validate(eventSchema, event, "webhook event");
      const tenant = await tx.query<{ path: string }>(`SELECT path::text AS path FROM public.stratum_tenants WHERE id = $1::uuid`, [e.tenantId]);
      if (!tenant[0]) {
        throw new StratumError("TENANT_NOT_FOUND", `Tenant ${e.tenantId} does not exist; emit before deleting it, in the same transaction.`, {
          tenantId: e.tenantId,
        });
      }
      let data: JsonValue;
      try {
        data = e.data === undefined ? null : (JSON.parse(JSON.stringify(e.data)) as JsonValue);
      } catch (error) {
        throw new StratumError("VALIDATION_FAILED", `Webhook event data must be JSON-serializable: ${(error as Error).message}`);
      }
      const idRows = await tx.query<{ id: string; at: string }>(
        `SELECT gen_random_uuid()::text AS id, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at`,
      );
      const payload: WebhookPayload = { id: idRows[0]!.id, type: e.type, tenant_id: e.tenantId, occurred_at: idRows[0]!.at, data };
      // Webhooks of the tenant and every ancestor (ltree @>), active, subscribed to the type.
      const rows = await tx.query<{ id: string }>(
        `INSERT INTO public.stratum_deliveries (id, webhook_id, event, payload, status, attempts, next_attempt_at, created_at)
         SELECT gen_random_uuid(), w.id, $1, $2::jsonb, 'pending', 0, now(), now()
           FROM public.stratum_webhooks w
           JOIN public.stratum_tenants owner ON owner.id = w.tenant_id
          WHERE w.active
            AND w.events && $3::text[]
            AND owner.path @> $4::ltree
         RETURNING id`,
        [e.type, JSON.stringify(payload), matchingPatterns(e.type), tenant[0].path],
      );
      return rows.map((r) => r.id);
    },

    async replay(deliveryId) {
      validate(z.uuid(), deliveryId, "delivery id");
      const replayed = await db.transaction(async (tx) => {
        const rows = await tx.query<Delivery & { tenant_id: string }>(
          `UPDATE public.stratum_deliveries d
              SET status = 'pending', last_error = NULL, next_attempt_at = now()
             FROM public.stratum_webhooks w
            WHERE d.id = $1::uuid AND w.id = d.webhook_id AND d.status IN ('dead', 'delivered')
            RETURNING d.id, d.webhook_id, d.event, d.payload, d.status, d.attempts, d.last_error, d.next_attempt_at, d.created_at, w.tenant_id`,
          [deliveryId],
        );
        const row = rows[0];
        if (!row) {
          const current = await loadDelivery(tx, deliveryId);
          throw new StratumError("CONFLICT", `Delivery ${deliveryId} is ${current.status}; only dead or delivered deliveries can be replayed.`, {
            deliveryId,
            status: current.status,
          });
        }
        await deps.audit.record(tx, { tenantId: row.tenant_id, action: "webhook.replay", targetType: "delivery", targetId: deliveryId });
        const { tenant_id: _tenant, ...delivery } = row;
        return delivery;
      });
      // Best effort: if Redis is down now, the poller enqueues it later; the row is pending either way.
      await dispatchPending().catch(onError);
      return replayed;
    },

    getDelivery: (deliveryId) => loadDelivery(db, deliveryId),

    async listDeliveries(webhookId, filters = {}) {
      validate(z.uuid(), webhookId, "webhook id");
      const f = validate(z.object({ status: z.enum(STATUSES).optional(), limit: z.number().int().min(1).max(500).default(50) }), filters, "delivery filters");
      return db.query<Delivery>(
        `SELECT ${DELIVERY_COLUMNS} FROM public.stratum_deliveries
          WHERE webhook_id = $1::uuid AND ($2::text IS NULL OR status = $2)
          ORDER BY created_at DESC, id
          LIMIT $3`,
        [webhookId, f.status ?? null, f.limit],
      );
    },
  };
}
