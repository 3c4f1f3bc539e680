/**
 * Webhooks: per-tenant endpoints, events emitted inside the writer's transaction, signed delivery
 * through BullMQ with retries, a dead-letter state and replay.
 *
 * Delivery is a transactional outbox. `emit(tx, event)` only inserts `stratum_deliveries` rows
 * (status `pending`) in the caller's transaction, so an event exists exactly when the change that
 * caused it committed: a rollback leaves nothing to send, and a crash or a Redis outage right after
 * the commit loses nothing, because the rows are still `pending` in PostgreSQL. A dispatcher
 * (`dispatchPending`, run by a poller) claims pending rows with `FOR UPDATE SKIP LOCKED`, enqueues
 * one BullMQ job per delivery (job id = delivery id) and marks them `queued` in the same
 * transaction; if the enqueue fails the transaction rolls back and the next poll retries.
 * Enqueueing after the caller's transaction returns would lose the event whenever the process
 * died, or Redis refused, between the commit and the enqueue.
 *
 * Statuses: pending → queued → (retrying →)* delivered | dead. `attempts`, `last_error` and
 * `next_attempt_at` are kept on the row; `dead` rows also stay in BullMQ's failed set.
 * Delivery is at least once: receivers should de-duplicate on `X-Stratum-Delivery`.
 */
import type { RotationTarget } from "../crypto/index.js";
import { destinationRefusal, literalRefusal, type EgressPolicy } from "./egress.js";
import { randomBytes } from "node:crypto";
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from "bullmq";
import { outageReporter, withTimeout, type OutageLog } from "../core/outage.js";
import type { Redis, RedisOptions } from "ioredis";
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink, CipherContext, ValueCipher } from "../core/ports.js";
import { validate } from "../core/validate.js";
import { WEBHOOK_HEADERS, signatureHeader } from "./signature.js";

/** Plaintext secrets carry this prefix; anything else in the column is a ValueCipher ciphertext. */
export const SECRET_PREFIX = "whsec_";

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
  /** The BullMQ queue (inspection: failed set, counts). */
  readonly queue: Queue<DeliveryJob>;
}

export interface DeliveryJob {
  deliveryId: string;
  /** `attempts` of the row when this job was enqueued: this run's attempts are counted from it. */
  base: number;
}

/** A failed attempt that will be retried after `retryDelayMs` (read by the backoff strategy). */
class DeliveryAttemptError extends Error {
  override readonly name = "DeliveryAttemptError";
  constructor(
    message: string,
    readonly retryDelayMs: number,
  ) {
    super(message);
  }
}

/**
 * Where webhook secrets are sealed (with the field-encryption keys, bound to their webhook row), so
 * `$stratum.rotateKeys()` re-encrypts them with the rest.
 */
export const WEBHOOK_SECRET_ROTATION_TARGET: RotationTarget = Object.freeze({
  table: "stratum_webhooks",
  // Named, so the rotation's SQL never resolves the table through a session's search_path.
  schema: "public",
  idColumn: "id",
  tenantColumn: "tenant_id",
  columns: Object.freeze([Object.freeze({ column: "secret", aadColumn: "secret" })]),
});

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const EVENT_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;
const STATUSES = ["pending", "queued", "retrying", "delivered", "dead"] as const;
const BACKOFF_TYPE = "stratum-exponential";

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

/** Exponential backoff with jitter: min(maxMs, baseMs × 2^(attempt-1)) × (1 - jitter × random). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 3_600_000;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, Math.round(ceiling * (1 - jitter * random())));
}

const WEBHOOK_COLUMNS = `id, tenant_id, url, events, active, created_at`;
const DELIVERY_COLUMNS = `id, webhook_id, event, payload, status, attempts, last_error, next_attempt_at, created_at`;

function connectionOf(redis: WebhookServiceDeps["redis"]): ConnectionOptions {
  if (typeof redis === "string") return { url: redis, maxRetriesPerRequest: null };
  return redis as ConnectionOptions;
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

/** Errors that mean Redis could not be reached or did not answer (not a fault of the delivery). */
function isRedisFailure(error: unknown): boolean {
  return /ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|Connection is closed|did not finish within|MaxRetriesPerRequest/i.test(String((error as Error)?.message ?? error));
}

export function createWebhookService(db: Db, deps: WebhookServiceDeps): WebhookService {
  const queueName = deps.queueName ?? "stratum-webhooks";
  const maxAttempts = deps.maxAttempts ?? 8;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const pollIntervalMs = deps.pollIntervalMs ?? 1000;
  const recoverAfterMs = deps.recoverAfterMs ?? 60_000;
  const doFetch = deps.fetch ?? globalThis.fetch;
  const onError = deps.onError ?? ((error: unknown) => console.error("[stratum webhooks]", error));
  const connection = connectionOf(deps.redis);
  const prefix = deps.prefix ? { prefix: deps.prefix } : {};
  const egress: EgressPolicy = { allowPrivateNetworks: deps.allowPrivateNetworks ?? false, allowHosts: deps.allowHosts ?? [] };
  const url = urlSchema(deps.allowInsecure ?? false, egress);
  const inputSchema = z.object({ url, events: eventsSchema, active: z.boolean().optional() });
  const patchSchema = z.object({ url: url.optional(), events: eventsSchema.optional(), active: z.boolean().optional() });

  // While Redis is unreachable: one warning, deliveries wait in the outbox (PostgreSQL), and the
  // poller keeps trying (each try bounded) so they go out once Redis is back. Nothing is lost.
  const outage = outageReporter(
    "webhooks",
    "Deliveries are recorded as pending in stratum_deliveries and sent when Redis is back; nothing is lost.",
    deps.log,
  );
  const redisWaitMs = Math.max(2_000, pollIntervalMs);
  const queue = new Queue<DeliveryJob>(queueName, { connection, ...prefix });
  queue.on("error", (error: unknown) => outage.down(error));
  let worker: Worker<DeliveryJob> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let closed = false;

  const context = (tenantId: string, webhookId: string): CipherContext => ({
    tenantId,
    table: "stratum_webhooks",
    column: "secret",
    rowId: webhookId,
  });
  const seal = (secret: string, tenantId: string, webhookId: string) =>
    deps.cipher ? deps.cipher.encrypt(secret, context(tenantId, webhookId)) : secret;
  const open = (stored: string, tenantId: string, webhookId: string) => {
    if (stored.startsWith(SECRET_PREFIX)) return stored;
    if (!deps.cipher) {
      throw new StratumError("DECRYPTION_FAILED", `Webhook ${webhookId} has an encrypted secret but no cipher is configured; pass the cipher it was sealed with.`, { webhookId });
    }
    return deps.cipher.decrypt(stored, context(tenantId, webhookId));
  };
  const newSecret = () => `${SECRET_PREFIX}${randomBytes(32).toString("base64url")}`;
  /**
   * Key versions this process can open secrets with. While processes with different keyrings run
   * side by side (a key rotation rolling out), each claims only the deliveries whose webhook secret
   * it can open; the others wait for a process that can, instead of failing until they are dead.
   */
  const heldVersions: number[] = [...((deps.cipher as { keyring?: { versions?: readonly number[] } } | undefined)?.keyring?.versions ?? [])];
  const OPENABLE = `(w.secret NOT LIKE 'stratum:v%' OR substring(w.secret from '^stratum:v([0-9]+):')::int = ANY($2::int[]))`;

  async function requireTenant(q: Db, tenantId: string): Promise<void> {
    const rows = await q.query(`SELECT 1 AS ok FROM public.stratum_tenants WHERE id = $1::uuid`, [tenantId]);
    if (rows.length === 0) throw new StratumError("TENANT_NOT_FOUND", `Tenant ${tenantId} does not exist.`, { tenantId });
  }

  async function loadWebhook(q: Db, webhookId: string, lock = false): Promise<Webhook> {
    validate(z.uuid(), webhookId, "webhook id");
    const rows = await q.query<Webhook>(
      `SELECT ${WEBHOOK_COLUMNS} FROM public.stratum_webhooks WHERE id = $1::uuid${lock ? " FOR UPDATE" : ""}`,
      [webhookId],
    );
    const row = rows[0];
    if (!row) throw new StratumError("NOT_FOUND", `Webhook ${webhookId} does not exist.`, { webhookId });
    return row;
  }

  async function loadDelivery(q: Db, deliveryId: string): Promise<Delivery> {
    validate(z.uuid(), deliveryId, "delivery id");
    const rows = await q.query<Delivery>(`SELECT ${DELIVERY_COLUMNS} FROM public.stratum_deliveries WHERE id = $1::uuid`, [deliveryId]);
    const row = rows[0];
    if (!row) throw new StratumError("NOT_FOUND", `Delivery ${deliveryId} does not exist.`, { deliveryId });
    return row;
  }

  // ---- outbox → BullMQ -------------------------------------------------------------------------

  /** Puts one delivery on the queue unless a live job for it already exists. */
  async function enqueue(deliveryId: string, base: number): Promise<void> {
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

  async function dispatchBatch(limit: number): Promise<number> {
    return db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; attempts: number }>(
        `SELECT d.id, d.attempts FROM public.stratum_deliveries d JOIN public.stratum_webhooks w ON w.id = d.webhook_id
          WHERE d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now()) AND ${OPENABLE}
          ORDER BY d.created_at, d.id
          LIMIT $1
          FOR UPDATE OF d SKIP LOCKED`,
        [limit, heldVersions],
      );
      if (rows.length === 0) return 0;
      await tx.execute(`UPDATE public.stratum_deliveries SET status = 'queued', next_attempt_at = now() WHERE id = ANY($1::uuid[])`, [
        rows.map((r) => r.id),
      ]);
      // Enqueued while the rows are still locked: a worker that picks a job up first waits on the
      // row lock, and a failed (or, Redis down, unanswered) enqueue rolls the rows back to pending
      // for the next poll; a job that still lands later is recognised as alive, not doubled.
      for (const row of rows) await withTimeout(enqueue(row.id, row.attempts), redisWaitMs, "Enqueueing a webhook delivery");
      return rows.length;
    });
  }

  /** Rows in flight whose BullMQ job vanished (Redis lost its data): enqueue them again. */
  async function recoverLost(limit: number): Promise<number> {
    return db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; attempts: number; status: string }>(
        `SELECT d.id, d.attempts, d.status FROM public.stratum_deliveries d JOIN public.stratum_webhooks w ON w.id = d.webhook_id
          WHERE d.status IN ('queued', 'retrying') AND d.next_attempt_at < now() - make_interval(secs => $1::double precision / 1000)
            AND ${OPENABLE.replace("$2", "$3")}
          ORDER BY d.next_attempt_at
          LIMIT $2
          FOR UPDATE OF d SKIP LOCKED`,
        [recoverAfterMs, limit, heldVersions],
      );
      let recovered = 0;
      for (const row of rows) {
        const job = await withTimeout(queue.getJob(row.id), redisWaitMs, "Looking up a webhook job");
        const state = job ? await withTimeout(job.getState(), redisWaitMs, "Reading a webhook job") : "unknown";
        if (state === "unknown" || state === "completed" || state === "failed") {
          await withTimeout(enqueue(row.id, row.attempts), redisWaitMs, "Enqueueing a webhook delivery");
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
    const batch = 100;
    let total = 0;
    for (;;) {
      const n = await dispatchBatch(batch);
      total += n;
      if (n < batch) break;
    }
    return total;
  }

  function schedulePoll(): void {
    if (closed) return;
    timer = setTimeout(() => {
      if (polling) return;
      polling = (async () => {
        try {
          await dispatchPending();
          await recoverLost(100);
        } catch (error) {
          if (outage.isDown || isRedisFailure(error)) outage.down(error);
          else onError(error);
        } finally {
          polling = undefined;
          schedulePoll();
        }
      })();
    }, pollIntervalMs);
    timer.unref();
  }

  // ---- the worker ------------------------------------------------------------------------------

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
      throw new UnrecoverableError("webhook is disabled");
    }

    const body = JSON.stringify(row.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    let failure: string;
    let retryAfter: number | undefined;
    const refusal = await destinationRefusal(row.url, egress);
    if (refusal) {
      await markDead(deliveryId, `refused: ${refusal}; webhooks go to public addresses only`);
      throw new UnrecoverableError(`refused destination: ${refusal}`);
    }
    let secret: string;
    try {
      secret = open(row.secret, row.tenant_id, row.webhook_id);
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
        await db.execute(
          `UPDATE public.stratum_deliveries SET status = 'delivered', last_error = NULL, next_attempt_at = NULL WHERE id = $1::uuid`,
          [deliveryId],
        );
        return { status: "delivered" };
      }
      if (response.status === 410) {
        await disableOnGone(row.webhook_id, row.tenant_id, deliveryId);
        throw new UnrecoverableError("receiver answered 410 Gone; webhook disabled");
      }
      failure = `HTTP ${response.status}${snippet ? `: ${snippet.replace(/\s+/g, " ").slice(0, 200)}` : ""}`;
      if (response.status === 429 || response.status === 503) retryAfter = retryAfterMs(response);
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      const e = error as Error;
      failure =
        e.name === "TimeoutError" || e.name === "AbortError"
          ? `timed out after ${timeoutMs} ms`
          : `request failed: ${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ""}`;
    }

    const runAttempts = row.attempts - base;
    if (runAttempts >= maxAttempts) {
      await markDead(deliveryId, `${failure} (after ${runAttempts} attempts)`);
      throw new UnrecoverableError(failure);
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
    await db.execute(`UPDATE public.stratum_deliveries SET status = 'dead', last_error = $2, next_attempt_at = NULL WHERE id = $1::uuid`, [
      deliveryId,
      reason,
    ]);
  }

  async function disableOnGone(webhookId: string, tenantId: string, deliveryId: string): Promise<void> {
    await db.transaction(async (tx) => {
      await tx.execute(`UPDATE public.stratum_webhooks SET active = false WHERE id = $1::uuid`, [webhookId]);
      await tx.execute(
        `UPDATE public.stratum_deliveries SET status = 'dead', last_error = $2, next_attempt_at = NULL WHERE id = $1::uuid`,
        [deliveryId, "receiver answered 410 Gone; webhook disabled"],
      );
      await deps.audit.record(tx, {
        tenantId,
        action: "webhook.disable",
        targetType: "webhook",
        targetId: webhookId,
        after: { active: false, reason: "410 Gone", delivery_id: deliveryId },
      });
    });
  }

  function start(options: StartOptions = {}): void {
    if (closed) throw new StratumError("CONFLICT", "This webhook service was closed; create a new one.");
    if ((options.worker ?? true) && !worker) {
      worker = new Worker<DeliveryJob>(queueName, deliver, {
        connection,
        ...prefix,
        concurrency: deps.concurrency ?? 5,
        settings: {
          backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
            err instanceof DeliveryAttemptError ? err.retryDelayMs : backoffDelay(attemptsMade, deps.backoff),
        },
      });
      worker.on("error", (error: unknown) => outage.down(error));
    }
    if ((options.dispatcher ?? true) && !timer) schedulePoll();
  }

  return {
    queue,

    async register(tenantId, input) {
      validate(z.uuid(), tenantId, "tenant id");
      const i = validate(inputSchema, input, "webhook");
      return db.transaction(async (tx) => {
        await requireTenant(tx, tenantId);
        const idRows = await tx.query<{ id: string }>(`SELECT gen_random_uuid()::text AS id`);
        const id = idRows[0]!.id;
        const secret = newSecret();
        const rows = await tx.query<Webhook>(
          `INSERT INTO public.stratum_webhooks (id, tenant_id, url, secret, events, active, created_at)
           VALUES ($1::uuid, $2::uuid, $3, $4, $5::text[], $6, now())
           RETURNING ${WEBHOOK_COLUMNS}`,
          [id, tenantId, i.url, seal(secret, tenantId, id), i.events, i.active ?? true],
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
        const secret = newSecret();
        await tx.execute(`UPDATE public.stratum_webhooks SET secret = $2 WHERE id = $1::uuid`, [webhookId, seal(secret, webhook.tenant_id, webhookId)]);
        await deps.audit.record(tx, { tenantId: webhook.tenant_id, action: "webhook.rotate_secret", targetType: "webhook", targetId: webhookId });
        return secret;
      });
    },

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

    dispatchPending,

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
          throw new StratumError(
            "CONFLICT",
            `Delivery ${deliveryId} is ${current.status}; only dead or delivered deliveries can be replayed.`,
            { deliveryId, status: current.status },
          );
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
      const f = validate(
        z.object({ status: z.enum(STATUSES).optional(), limit: z.number().int().min(1).max(500).default(50) }),
        filters,
        "delivery filters",
      );
      return db.query<Delivery>(
        `SELECT ${DELIVERY_COLUMNS} FROM public.stratum_deliveries
          WHERE webhook_id = $1::uuid AND ($2::text IS NULL OR status = $2)
          ORDER BY created_at DESC, id
          LIMIT $3`,
        [webhookId, f.status ?? null, f.limit],
      );
    },

    start,

    /** Returns even when Redis is down: each wait is bounded, then the connections are dropped. */
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await polling;
      // BullMQ's close and disconnect both wait for a connection that is not coming back while
      // Redis is down: each is given a bounded time, then left to finish on its own.
      const drop = (p: Promise<unknown>) => void p.catch(() => undefined);
      if (worker) {
        const w = worker;
        await withTimeout(w.close(), redisWaitMs, "Closing the webhook worker").catch(() => drop(w.disconnect()));
      }
      await withTimeout(queue.close(), redisWaitMs, "Closing the webhook queue").catch(() => drop(queue.disconnect()));
    },
  };
}
