/**
 * The webhook service's public shapes: what callers pass in and get back. The service itself is
 * split by concern — registry.ts (endpoints and their secrets), outbox.ts (events recorded in the
 * writer's transaction, and the deliveries' rows), dispatcher.ts (outbox → queue), worker.ts (the
 * HTTP delivery) — and composed in service.ts.
 */
import type { Queue } from "bullmq";
import type { Redis, RedisOptions } from "ioredis";
import type { OutageLog } from "../core/outage.js";
import type { Db } from "../core/db.js";
import type { AuditSink, ValueCipher } from "../core/ports.js";

export interface BackoffOptions {
  /** Delay before the first retry, ms. Default 1000. */
  baseMs?: number;
  /** Upper bound of one delay, ms. Default 1 hour. */
  maxMs?: number;
  /** Share of the delay drawn at random (0..1): delay × (1 - jitter × random). Default 0.5. */
  jitter?: number;
}

export interface WebhookServiceDeps {
  audit: AuditSink;
  /** An ioredis instance (shared, never closed here), ioredis options, or a redis:// URL. */
  redis: Redis | RedisOptions | string;
  /** BullMQ queue name; default "stratum-webhooks". Use one per deployment (and per test file). */
  queueName?: string;
  /** BullMQ key prefix; default "bull". */
  prefix?: string;
  fetch?: typeof fetch;
  backoff?: BackoffOptions;
  /** Attempts per delivery run before it is dead; default 8. */
  maxAttempts?: number;
  /** Per-request timeout (connect, headers and body), ms; default 10000. */
  timeoutMs?: number;
  /** Encrypts secrets at rest (AES-GCM bound to the webhook row). Without one they are stored as is. */
  cipher?: ValueCipher;
  /** Accept plain http:// to any host (default: only https, or http to localhost / 127.0.0.1 / ::1). */
  allowInsecure?: boolean;
  /**
   * Deliver to private, loopback and link-local addresses (default false: a tenant's webhook must
   * not reach the deployment's own network; see egress.ts). Turn on for development and tests.
   */
  allowPrivateNetworks?: boolean;
  /** Host names exempt from that check (an internal receiver you operate). */
  allowHosts?: string[];
  /** How often the poller looks for pending deliveries, ms; default 1000. */
  pollIntervalMs?: number;
  /** Deliveries sent in parallel by one worker; default 5. */
  concurrency?: number;
  /**
   * A `queued`/`retrying` row whose `next_attempt_at` is older than this (ms, default 60000) is
   * checked against BullMQ and re-enqueued when its job is gone (Redis flushed or restarted without
   * persistence). Live jobs are left alone, so this never duplicates a delivery in flight.
   */
  recoverAfterMs?: number;
  /** Where the one warning per Redis outage goes (default console.warn). */
  log?: OutageLog;
  /** Errors of the background poller other than Redis being unreachable (default: console.error). */
  onError?: (error: unknown) => void;
}

export interface Webhook {
  id: string;
  tenant_id: string;
  url: string;
  events: string[];
  active: boolean;
  created_at: Date;
}

export interface RegisteredWebhook {
  webhook: Webhook;
  /** Shown once: stratum keeps it (encrypted when a cipher is configured) but never returns it again. */
  secret: string;
}

export type DeliveryStatus = "pending" | "queued" | "retrying" | "delivered" | "dead";

export interface Delivery {
  id: string;
  webhook_id: string;
  event: string;
  payload: WebhookPayload;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  created_at: Date;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The JSON body a receiver gets. */
export interface WebhookPayload {
  /** Event id: the same for every delivery of one event. */
  id: string;
  type: string;
  tenant_id: string;
  occurred_at: string;
  data: JsonValue;
}

export interface WebhookEvent {
  /** Dotted event type, e.g. `tenant.created`. */
  type: string;
  /** The tenant the event is about; webhooks of this tenant and of every ancestor hear it. */
  tenantId: string;
  data?: unknown;
  /**
   * A `stratum.<name>` transaction setting whose JSON object is merged over `data.after` as the
   * event is queued (AuditEntry.mergeAfter; withWebhookEvents passes it on).
   */
  mergeAfter?: string;
}

export interface WebhookInput {
  url: string;
  /** Exact types (`tenant.created`), prefixes (`tenant.*`) or `*`. */
  events: string[];
  active?: boolean;
}

export interface StartOptions {
  /** Run a BullMQ worker in this process (default true). */
  worker?: boolean;
  /** Poll for pending deliveries in this process (default true). */
  dispatcher?: boolean;
}

export interface WebhookService {
  register(tenantId: string, input: WebhookInput): Promise<RegisteredWebhook>;
  update(webhookId: string, patch: Partial<WebhookInput>): Promise<Webhook>;
  delete(webhookId: string): Promise<void>;
  /** A tenant's own webhooks (not its ancestors'). */
  list(tenantId: string): Promise<Webhook[]>;
  get(webhookId: string): Promise<Webhook>;
  /** A new secret for the webhook, returned once; the old one stops signing immediately. */
  rotateSecret(webhookId: string): Promise<string>;
  /**
   * Records `event` for every active webhook of the tenant and its ancestors that subscribes to
   * it, in `tx`: delivered after `tx` commits, never if it rolls back. Returns the delivery ids.
   */
  emit(tx: Db, event: WebhookEvent): Promise<string[]>;
  /**
   * `emit` without waiting for its answer: on the stratum driver the statement travels with the
   * transaction's next statement or its COMMIT (one round trip less). Nothing is returned and a
   * missing tenant queues nothing instead of failing: for events of a tenant the same transaction
   * has just written (withWebhookEvents uses it for every audited write).
   */
  emitLater(tx: Db, event: WebhookEvent): Promise<void>;
  /** Moves pending deliveries to BullMQ now (the poller does it every `pollIntervalMs`). */
  dispatchPending(): Promise<number>;
  /** Sends a `dead` or `delivered` delivery again (re-enable a disabled webhook first). */
  replay(deliveryId: string): Promise<Delivery>;
  getDelivery(deliveryId: string): Promise<Delivery>;
  listDeliveries(webhookId: string, filters?: { status?: DeliveryStatus; limit?: number }): Promise<Delivery[]>;
  /** Starts the worker and the poller (each optional). Idempotent. */
  start(options?: StartOptions): void;
  /** Stops the poller and the worker (waiting for deliveries in flight) and closes the queue. */
  close(): Promise<void>;
  /**
   * The BullMQ queue (inspection: failed set, counts). A promise: bullmq is an optional peer,
   * imported on first use (PEER_DEPENDENCY_MISSING when it is not installed).
   */
  queue(): Promise<Queue<DeliveryJob>>;
}

export interface DeliveryJob {
  deliveryId: string;
  /** `attempts` of the row when this job was enqueued: this run's attempts are counted from it. */
  base: number;
}
