/**
 * The BullMQ queue deliveries travel through. bullmq is an optional peer dependency: it is
 * imported when a webhook service is created, not when stratum-prisma is, so an app without
 * webhooks never needs it. Without it the queue's promise rejects with PEER_DEPENDENCY_MISSING,
 * and everything that needs the queue (dispatch, the worker, `queue()`) reports that.
 */
import type { ConnectionOptions, Queue } from "bullmq";
import { loadOptionalPeer, type PeerModule } from "../core/optional-peer.js";
import type { OutageReporter } from "../core/outage.js";
import type { DeliveryJob, WebhookServiceDeps } from "./types.js";

export type BullMQ = PeerModule<"bullmq">;

/** The custom backoff the worker computes (worker.ts); jobs name it. */
export const BACKOFF_TYPE = "stratum-exponential";

export interface DeliveryQueue {
  readonly bull: BullMQ;
  readonly queue: Queue<DeliveryJob>;
  readonly queueName: string;
  /** What a Worker on the same queue connects with. */
  readonly options: { connection: ConnectionOptions; prefix?: string };
}

function connectionOf(redis: WebhookServiceDeps["redis"]): ConnectionOptions {
  if (typeof redis === "string") return { url: redis, maxRetriesPerRequest: null };
  return redis as ConnectionOptions;
}

/** The queue (opening its Redis connection); its errors count towards the Redis outage. */
export async function openDeliveryQueue(deps: Pick<WebhookServiceDeps, "redis" | "queueName" | "prefix">, outage: OutageReporter): Promise<DeliveryQueue> {
  const bull = await loadOptionalPeer("bullmq", "Webhooks (createWebhookService, stratum({ webhooks }))");
  const queueName = deps.queueName ?? "stratum-webhooks";
  const options = { connection: connectionOf(deps.redis), ...(deps.prefix ? { prefix: deps.prefix } : {}) };
  const queue = new bull.Queue<DeliveryJob>(queueName, options);
  queue.on("error", (error: unknown) => outage.down(error));
  return { bull, queue, queueName, options };
}
