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
import { executeOrDefer, type Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { chainSql } from "../core/subtree.js";
import { validate } from "../core/validate.js";
import type { Delivery, JsonValue, WebhookService, WebhookServiceDeps } from "./types.js";

/** The outbox's part of the service. */
export type WebhookOutbox = Pick<WebhookService, "emit" | "emitLater" | "replay" | "getDelivery" | "listDeliveries">;

const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const STATUSES = ["pending", "queued", "retrying", "delivered", "dead"] as const;
const DELIVERY_COLUMNS = `id, webhook_id, event, payload, status, attempts, last_error, next_attempt_at, created_at`;

const eventSchema = z.object({
  type: z.string().max(200).regex(EVENT_TYPE, "a dotted event type like tenant.created"),
  tenantId: z.uuid(),
  data: z.unknown().optional(),
  mergeAfter: z
    .string()
    .regex(/^stratum\.[a-z_]{1,50}$/, "a stratum.<name> setting")
    .optional(),
});

/** The subscription patterns that match `type`: itself, each `prefix.*`, and `*`. */
export function matchingPatterns(type: string): string[] {
  const parts = type.split(".");
  const patterns = [type, "*"];
  for (let i = parts.length - 1; i >= 1; i--) patterns.push(`${parts.slice(0, i).join(".")}.*`);
  return patterns;
}

/**
 * One event, one statement: a `pending` delivery per active webhook of the tenant or an ancestor
 * (its chain, by the path's labels: core/subtree.ts) subscribed to the type, all carrying the same payload ({ id, type, tenant_id,
 * occurred_at, data }); and whether the tenant exists (nothing is queued for a missing one).
 * Every audited write with webhooks configured sends it, so it is one round trip, not three.
 */
export const EMIT_SQL = `WITH chain AS MATERIALIZED (SELECT ids FROM ${chainSql("$2::uuid")} c),
     occurrence AS (SELECT gen_random_uuid()::text AS id, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at),
     queued AS (
       INSERT INTO public.stratum_deliveries (id, webhook_id, event, payload, status, attempts, next_attempt_at, created_at)
       SELECT gen_random_uuid(), w.id, $1,
              jsonb_build_object('id', occurrence.id, 'type', $1::text, 'tenant_id', $2::uuid::text, 'occurred_at', occurrence.at, 'data',
                CASE WHEN $5::text = '' THEN $3::jsonb
                     ELSE jsonb_set($3::jsonb, '{after}', coalesce(nullif($3::jsonb -> 'after', 'null'::jsonb), '{}'::jsonb) || pg_catalog.current_setting($5::text)::jsonb) END),
              'pending', 0, now(), now()
         FROM chain, occurrence, public.stratum_webhooks w
        WHERE w.tenant_id = ANY(chain.ids)
          AND w.active
          AND w.events && $4::text[]
       RETURNING id)
SELECT EXISTS (SELECT 1 FROM chain) AS found, coalesce((SELECT json_agg(queued.id::text) FROM queued), '[]'::json) AS ids`;

const EMIT_STATEMENT = "stratum_webhook_emit";

/** EMIT_SQL's parameters for `event`, validated; its data as JSON (VALIDATION_FAILED when it is not JSON). */
function emitParams(event: unknown): [string, string, string, string[], string] {
  const e = validate(eventSchema, event, "webhook event");
  let data: JsonValue;
  try {
    data = e.data === undefined ? null : (JSON.parse(JSON.stringify(e.data)) as JsonValue);
  } catch (error) {
    throw new StratumError("VALIDATION_FAILED", `Webhook event data must be JSON-serializable: ${(error as Error).message}`);
  }
  return [e.type, e.tenantId, JSON.stringify(data), matchingPatterns(e.type), e.mergeAfter ?? ""];
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
      const params = emitParams(event);
      const [row] = await tx.query<{ found: boolean; ids: string[] }>(EMIT_SQL, params, { name: EMIT_STATEMENT });
      if (!row?.found) {
        throw new StratumError("TENANT_NOT_FOUND", `Tenant ${params[1]} does not exist; emit before deleting it, in the same transaction.`, {
          tenantId: params[1],
        });
      }
      return row.ids;
    },

    // The same statement, its answer unread: on the driver it travels with the transaction's next
    // statement or its COMMIT. Every audited write with webhooks configured emits through here
    // (audit-events.ts), for a tenant its own audit row names in the same transaction.
    emitLater: (tx, event) => executeOrDefer(tx, EMIT_SQL, emitParams(event), { name: EMIT_STATEMENT }),

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
