/**
 * Outbox → queue. A poller claims `pending` delivery rows with `FOR UPDATE SKIP LOCKED`, enqueues
 * one BullMQ job per delivery (job id = delivery id) and marks them `queued` in the same
 * transaction; if the enqueue fails the transaction rolls back and the next poll retries. Rows in
 * flight whose job vanished (Redis lost its data) are found and enqueued again.
 */
import type { Db } from "../core/db.js";
import { isStratumError } from "../core/errors.js";
import { withTimeout, type OutageReporter } from "../core/outage.js";
import { BACKOFF_TYPE, type DeliveryQueue } from "./queue.js";
import { openableBy, type SecretBox } from "./secrets.js";

export interface DispatcherSettings {
  maxAttempts: number;
  pollIntervalMs: number;
  recoverAfterMs: number;
  /** Bound on each wait for Redis (which queues commands while disconnected). */
  redisWaitMs: number;
}

export interface Dispatcher {
  /** Moves pending deliveries to the queue now; resolves with how many. */
  dispatchPending(): Promise<number>;
  /** Starts polling every `pollIntervalMs` (idempotent). */
  start(): void;
  /** Stops polling and waits for a poll in progress. */
  stop(): Promise<void>;
}

/** Errors that mean Redis could not be reached or did not answer (not a fault of the delivery). */
function isRedisFailure(error: unknown): boolean {
  return /ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|Connection is closed|did not finish within|MaxRetriesPerRequest/i.test(
    String((error as Error)?.message ?? error),
  );
}

export function createDispatcher(
  db: Db,
  queued: Promise<DeliveryQueue>,
  secrets: SecretBox,
  outage: OutageReporter,
  onError: (error: unknown) => void,
  settings: DispatcherSettings,
): Dispatcher {
  const { maxAttempts, pollIntervalMs, recoverAfterMs, redisWaitMs } = settings;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let stopped = false;

  /** Puts one delivery on the queue unless a live job for it already exists. */
  async function enqueue({ queue }: DeliveryQueue, deliveryId: string, base: number): Promise<void> {
    const existing = await queue.getJob(deliveryId);
    if (existing) {
      const state = await existing.getState();
      if (state !== "completed" && state !== "failed" && state !== "unknown") return; // alive: it will send
      await existing.remove();
    }
    await queue.add(
      "deliver",
      { deliveryId, base },
      {
        jobId: deliveryId,
        attempts: maxAttempts,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 30 * 24 * 3600, count: 100_000 },
      },
    );
    outage.up(); // Redis answered: an outage, if any, is over
  }

  async function dispatchBatch(q: DeliveryQueue, limit: number): Promise<number> {
    return db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; attempts: number }>(
        `SELECT d.id, d.attempts FROM public.stratum_deliveries d JOIN public.stratum_webhooks w ON w.id = d.webhook_id
          WHERE d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now()) AND ${openableBy("$2")}
          ORDER BY d.created_at, d.id
          LIMIT $1
          FOR UPDATE OF d SKIP LOCKED`,
        [limit, secrets.heldVersions],
      );
      if (rows.length === 0) return 0;
      await tx.execute(`UPDATE public.stratum_deliveries SET status = 'queued', next_attempt_at = now() WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
      // Enqueued while the rows are still locked: a worker that picks a job up first waits on the
      // row lock, and a failed (or, Redis down, unanswered) enqueue rolls the rows back to pending
      // for the next poll; a job that still lands later is recognised as alive, not doubled.
      for (const row of rows) await withTimeout(enqueue(q, row.id, row.attempts), redisWaitMs, "Enqueueing a webhook delivery");
      return rows.length;
    });
  }

  /** Rows in flight whose BullMQ job vanished (Redis lost its data): enqueue them again. */
  async function recoverLost(q: DeliveryQueue, limit: number): Promise<number> {
    return db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; attempts: number; status: string }>(
        `SELECT d.id, d.attempts, d.status FROM public.stratum_deliveries d JOIN public.stratum_webhooks w ON w.id = d.webhook_id
          WHERE d.status IN ('queued', 'retrying') AND d.next_attempt_at < now() - make_interval(secs => $1::double precision / 1000)
            AND ${openableBy("$3")}
          ORDER BY d.next_attempt_at
          LIMIT $2
          FOR UPDATE OF d SKIP LOCKED`,
        [recoverAfterMs, limit, secrets.heldVersions],
      );
      let recovered = 0;
      for (const row of rows) {
        const job = await withTimeout(q.queue.getJob(row.id), redisWaitMs, "Looking up a webhook job");
        const state = job ? await withTimeout(job.getState(), redisWaitMs, "Reading a webhook job") : "unknown";
        if (state === "unknown" || state === "completed" || state === "failed") {
          await withTimeout(enqueue(q, row.id, row.attempts), redisWaitMs, "Enqueueing a webhook delivery");
          recovered++;
        }
      }
      if (rows.length > 0) {
        await tx.execute(`UPDATE public.stratum_deliveries SET next_attempt_at = now() WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
      }
      return recovered;
    });
  }

  async function dispatchPending(): Promise<number> {
    const q = await queued;
    const batch = 100;
    let total = 0;
    for (;;) {
      const n = await dispatchBatch(q, batch);
      total += n;
      if (n < batch) break;
    }
    return total;
  }

  function schedulePoll(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      if (polling) return;
      polling = (async () => {
        try {
          await dispatchPending();
          await recoverLost(await queued, 100);
        } catch (error) {
          // bullmq not installed: said once; polling again cannot help until it is.
          if (isStratumError(error, "PEER_DEPENDENCY_MISSING")) {
            stopped = true;
            onError(error);
          } else if (outage.isDown || isRedisFailure(error)) outage.down(error);
          else onError(error);
        } finally {
          polling = undefined;
          schedulePoll();
        }
      })();
    }, pollIntervalMs);
    timer.unref();
  }

  return {
    dispatchPending,
    start() {
      if (!timer && !stopped) schedulePoll();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await polling;
    },
  };
}
