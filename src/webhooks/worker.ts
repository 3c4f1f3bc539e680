/**
 * The delivery worker: a BullMQ worker that sends each delivery as a signed HTTP POST and records
 * the outcome on its row. Statuses: pending → queued → (retrying →)* delivered | dead. 2xx is
 * delivered; 410 Gone disables the webhook; anything else is retried with exponential backoff and
 * jitter (a 429/503 Retry-After honoured) until `maxAttempts`, then dead. A destination that
 * resolves to a private address is refused at delivery time too (egress.ts).
 */
import type { Job, Worker } from "bullmq";
import type { Db } from "../core/db.js";
import { destinationRefusal, type EgressPolicy } from "./egress.js";
import type { OutageReporter } from "../core/outage.js";
import type { DeliveryQueue } from "./queue.js";
import type { SecretBox } from "./secrets.js";
import { WEBHOOK_HEADERS, signatureHeader } from "./signature.js";
import type { BackoffOptions, DeliveryJob, DeliveryStatus, WebhookPayload, WebhookServiceDeps } from "./types.js";

export interface WorkerSettings {
  maxAttempts: number;
  timeoutMs: number;
  pollIntervalMs: number;
  concurrency: number;
  fetch: typeof fetch;
}

/** A failed attempt that will be retried after `retryDelayMs` (read by the backoff strategy). */
export class DeliveryAttemptError extends Error {
  override readonly name = "DeliveryAttemptError";
  constructor(
    message: string,
    readonly retryDelayMs: number,
  ) {
    super(message);
  }
}

/** Exponential backoff with jitter: min(maxMs, baseMs × 2^(attempt-1)) × (1 - jitter × random). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 3_600_000;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, Math.round(ceiling * (1 - jitter * random())));
}

async function readSnippet(response: Response, max = 500): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, max);
}

function retryAfterMs(response: Response): number | undefined {
  const raw = response.headers.get("retry-after");
  if (!raw) return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The function a BullMQ worker runs per job. `Unrecoverable` is bullmq's UnrecoverableError
 * (thrown for outcomes no retry can change); bullmq is an optional peer, handed in once loaded.
 */
export function createDelivery(
  db: Db,
  deps: Pick<WebhookServiceDeps, "audit" | "backoff">,
  egress: EgressPolicy,
  secrets: SecretBox,
  settings: WorkerSettings,
  Unrecoverable: DeliveryQueue["bull"]["UnrecoverableError"],
): (job: Job<DeliveryJob>) => Promise<{ status: DeliveryStatus | "skipped" }> {
  const { maxAttempts, timeoutMs, pollIntervalMs } = settings;
  const doFetch = settings.fetch;

  async function deliver(job: Job<DeliveryJob>): Promise<{ status: DeliveryStatus | "skipped" }> {
    const { deliveryId, base } = job.data;
    // Claiming counts the attempt. Rows already delivered or dead (a duplicate job) are skipped;
    // a disabled webhook's delivery is not attempted.
    const claimed = await db.query<{
      attempts: number;
      event: string;
      payload: WebhookPayload;
      webhook_id: string;
      url: string;
      secret: string;
      active: boolean;
      tenant_id: string;
    }>(
      `UPDATE public.stratum_deliveries d
          SET attempts = d.attempts + CASE WHEN w.active THEN 1 ELSE 0 END,
              status = CASE WHEN d.status = 'pending' THEN 'queued' ELSE d.status END
         FROM public.stratum_webhooks w
        WHERE d.id = $1::uuid AND w.id = d.webhook_id AND d.status IN ('pending', 'queued', 'retrying')
        RETURNING d.attempts, d.event, d.payload, w.id AS webhook_id, w.url, w.secret, w.active, w.tenant_id`,
      [deliveryId],
    );
    const row = claimed[0];
    if (!row) return { status: "skipped" };
    if (!row.active) {
      await markDead(deliveryId, "webhook is disabled; re-enable it and replay the delivery");
      throw new Unrecoverable("webhook is disabled");
    }

    const body = JSON.stringify(row.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    let failure: string;
    let retryAfter: number | undefined;
    const refusal = await destinationRefusal(row.url, egress);
    if (refusal) {
      await markDead(deliveryId, `refused: ${refusal}; webhooks go to public addresses only`);
      throw new Unrecoverable(`refused destination: ${refusal}`);
    }
    let secret: string;
    try {
      secret = secrets.open(row.secret, row.tenant_id, row.webhook_id);
    } catch (error) {
      await release(deliveryId, (error as Error).message);
      return { status: "skipped" };
    }
    try {
      const response = await doFetch(row.url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          "content-type": "application/json",
          "user-agent": "stratum-webhooks/1",
          [WEBHOOK_HEADERS.event]: row.event,
          [WEBHOOK_HEADERS.delivery]: deliveryId,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signatureHeader(secret, timestamp, body),
        },
        body,
      });
      const snippet = await readSnippet(response);
      if (response.status >= 200 && response.status < 300) {
        await db.execute(`UPDATE public.stratum_deliveries SET status = 'delivered', last_error = NULL, next_attempt_at = NULL WHERE id = $1::uuid`, [
          deliveryId,
        ]);
        return { status: "delivered" };
      }
      if (response.status === 410) {
        await disableOnGone(row.webhook_id, row.tenant_id, deliveryId);
        throw new Unrecoverable("receiver answered 410 Gone; webhook disabled");
      }
      failure = `HTTP ${response.status}${snippet ? `: ${snippet.replace(/\s+/g, " ").slice(0, 200)}` : ""}`;
      if (response.status === 429 || response.status === 503) retryAfter = retryAfterMs(response);
    } catch (error) {
      if (error instanceof Unrecoverable) throw error;
      const e = error as Error;
      failure =
        e.name === "TimeoutError" || e.name === "AbortError"
          ? `timed out after ${timeoutMs} ms`
          : `request failed: ${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ""}`;
    }

    const runAttempts = row.attempts - base;
    if (runAttempts >= maxAttempts) {
      await markDead(deliveryId, `${failure} (after ${runAttempts} attempts)`);
      throw new Unrecoverable(failure);
    }
    const computed = backoffDelay(runAttempts, deps.backoff);
    const delay = retryAfter === undefined ? computed : Math.min(Math.max(retryAfter, computed), deps.backoff?.maxMs ?? 3_600_000);
    await db.execute(
      `UPDATE public.stratum_deliveries
          SET status = 'retrying', last_error = $2,
              next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1::uuid`,
      [deliveryId, failure, delay],
    );
    throw new DeliveryAttemptError(failure, delay);
  }

  /**
   * This process cannot open the webhook's secret (its keyring lacks the key it is sealed with):
   * the delivery goes back to pending, the attempt uncounted, for a process that holds the key.
   */
  async function release(deliveryId: string, reason: string): Promise<void> {
    await db.execute(
      `UPDATE public.stratum_deliveries SET status = 'pending', attempts = greatest(attempts - 1, 0), last_error = $2,
              next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1::uuid`,
      [deliveryId, `waiting for a process that can open the webhook secret: ${reason}`, pollIntervalMs],
    );
  }

  async function markDead(deliveryId: string, reason: string): Promise<void> {
    await db.execute(`UPDATE public.stratum_deliveries SET status = 'dead', last_error = $2, next_attempt_at = NULL WHERE id = $1::uuid`, [deliveryId, reason]);
  }

  async function disableOnGone(webhookId: string, tenantId: string, deliveryId: string): Promise<void> {
    await db.transaction(async (tx) => {
      await tx.execute(`UPDATE public.stratum_webhooks SET active = false WHERE id = $1::uuid`, [webhookId]);
      await tx.execute(`UPDATE public.stratum_deliveries SET status = 'dead', last_error = $2, next_attempt_at = NULL WHERE id = $1::uuid`, [
        deliveryId,
        "receiver answered 410 Gone; webhook disabled",
      ]);
      await deps.audit.record(tx, {
        tenantId,
        action: "webhook.disable",
        targetType: "webhook",
        targetId: webhookId,
        after: { active: false, reason: "410 Gone", delivery_id: deliveryId },
      });
    });
  }

  return deliver;
}

/** A BullMQ worker running `deliver` on the service's queue; its errors count towards the Redis outage. */
export function startWorker(
  q: DeliveryQueue,
  deliver: (job: Job<DeliveryJob>) => Promise<unknown>,
  concurrency: number,
  backoff: BackoffOptions | undefined,
  outage: OutageReporter,
): Worker<DeliveryJob> {
  const worker = new q.bull.Worker<DeliveryJob>(q.queueName, deliver, {
    ...q.options,
    concurrency,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
        err instanceof DeliveryAttemptError ? err.retryDelayMs : backoffDelay(attemptsMade, backoff),
    },
  });
  worker.on("error", (error: unknown) => outage.down(error));
  return worker;
}
