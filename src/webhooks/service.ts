/**
 * Webhooks: per-tenant endpoints, events emitted inside the writer's transaction, signed delivery
 * through BullMQ with retries, a dead-letter state and replay. This file composes the parts:
 *
 * - registry.ts — the endpoints (URL, events, active) and their secrets (secrets.ts);
 * - outbox.ts — `emit` records `pending` delivery rows in the caller's transaction (a rollback
 *   leaves nothing to send, a crash after commit loses nothing); reading and replaying deliveries;
 * - dispatcher.ts — a poller moves pending rows onto the BullMQ queue (queue.ts);
 * - worker.ts — the BullMQ worker that POSTs each delivery, signed, and records the outcome.
 *
 * Delivery is at least once: receivers should de-duplicate on `X-Stratum-Delivery`. bullmq is an
 * optional peer dependency, imported when the service is created (queue.ts).
 */
import type { Worker } from "bullmq";
import { StratumError } from "../core/errors.js";
import { outageReporter, withTimeout } from "../core/outage.js";
import type { Db } from "../core/db.js";
import { createDispatcher } from "./dispatcher.js";
import type { EgressPolicy } from "./egress.js";
import { createOutbox } from "./outbox.js";
import { openDeliveryQueue } from "./queue.js";
import { createWebhookRegistry } from "./registry.js";
import { createSecretBox } from "./secrets.js";
import type { DeliveryJob, StartOptions, WebhookService, WebhookServiceDeps } from "./types.js";
import { createDelivery, startWorker } from "./worker.js";

export { SECRET_PREFIX, WEBHOOK_SECRET_ROTATION_TARGET } from "./secrets.js";
export { matchingPatterns } from "./outbox.js";
export { backoffDelay } from "./worker.js";
export type * from "./types.js";

export function createWebhookService(db: Db, deps: WebhookServiceDeps): WebhookService {
  const maxAttempts = deps.maxAttempts ?? 8;
  const pollIntervalMs = deps.pollIntervalMs ?? 1000;
  const onError = deps.onError ?? ((error: unknown) => console.error("[stratum webhooks]", error));
  const egress: EgressPolicy = { allowPrivateNetworks: deps.allowPrivateNetworks ?? false, allowHosts: deps.allowHosts ?? [] };
  const secrets = createSecretBox(deps.cipher);

  // While Redis is unreachable: one warning, deliveries wait in the outbox (PostgreSQL), and the
  // poller keeps trying (each try bounded) so they go out once Redis is back. Nothing is lost.
  const outage = outageReporter("webhooks", "Deliveries are recorded as pending in stratum_deliveries and sent when Redis is back; nothing is lost.", deps.log);
  const redisWaitMs = Math.max(2_000, pollIntervalMs);
  const queued = openDeliveryQueue(deps, outage);
  queued.catch(() => undefined); // reported by what needs the queue (dispatch, start, queue())
  const dispatcher = createDispatcher(db, queued, secrets, outage, onError, {
    maxAttempts,
    pollIntervalMs,
    recoverAfterMs: deps.recoverAfterMs ?? 60_000,
    redisWaitMs,
  });
  let worker: Promise<Worker<DeliveryJob> | undefined> | undefined;
  let closed = false;

  function start(options: StartOptions = {}): void {
    if (closed) throw new StratumError("CONFLICT", "This webhook service was closed; create a new one.");
    if ((options.worker ?? true) && !worker) {
      worker = queued.then(
        (q) => {
          if (closed) return undefined;
          const settings = {
            maxAttempts,
            timeoutMs: deps.timeoutMs ?? 10_000,
            pollIntervalMs,
            concurrency: deps.concurrency ?? 5,
            fetch: deps.fetch ?? globalThis.fetch,
          };
          const deliver = createDelivery(db, deps, egress, secrets, settings, q.bull.UnrecoverableError);
          return startWorker(q, deliver, settings.concurrency, deps.backoff, outage);
        },
        (error: unknown) => {
          onError(error); // bullmq missing: said once, here; the dispatcher says it too if it runs
          return undefined;
        },
      );
    }
    if (options.dispatcher ?? true) dispatcher.start();
  }

  return {
    ...createWebhookRegistry(db, deps, egress, secrets),
    ...createOutbox(db, deps, dispatcher.dispatchPending, onError),
    dispatchPending: dispatcher.dispatchPending,
    start,
    queue: async () => (await queued).queue,

    /** Returns even when Redis is down: each wait is bounded, then the connections are dropped. */
    async close() {
      closed = true;
      await dispatcher.stop();
      // BullMQ's close and disconnect both wait for a connection that is not coming back while
      // Redis is down: each is given a bounded time, then left to finish on its own.
      const drop = (p: Promise<unknown>) => void p.catch(() => undefined);
      const w = await worker;
      if (w) await withTimeout(w.close(), redisWaitMs, "Closing the webhook worker").catch(() => drop(w.disconnect()));
      const q = await queued.catch(() => undefined);
      if (q) await withTimeout(q.queue.close(), redisWaitMs, "Closing the webhook queue").catch(() => drop(q.queue.disconnect()));
    },
  };
}
