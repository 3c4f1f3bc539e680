/**
 * Retention: rows older than N days are deleted, per table (and optionally per tenant), in batches
 * so no statement holds many locks. `runRetention` runs the policies once; `scheduleRetention`
 * runs them on a timer (never overlapping itself) until `stop()`.
 *
 * The `Db` must reach the rows: stratum's admin handle reaches only stratum's tables, so for the
 * user's tenant tables pass an owner connection, or run once per tenant schema / database (set
 * `schema`) through the isolation layer.
 */
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink } from "../core/ports.js";
import { validate } from "../core/validate.js";

export interface RetentionPolicy {
  table: string;
  schema?: string;
  /** timestamptz / timestamp / date column compared with now() - days. */
  timestampColumn: string;
  /** Rows older than this many days are deleted. */
  days: number;
  /** Restrict to one tenant (with `tenantColumn`, default "tenant_id"). */
  tenantId?: string;
  tenantColumn?: string;
  /** Rows per DELETE (default 1000). */
  batchSize?: number;
}

export interface RetentionResult {
  table: string;
  schema?: string;
  tenantId?: string;
  deleted: number;
}

export interface RunRetentionOptions {
  /** Writes a "gdpr.retention" audit row per policy that deleted something. */
  audit?: AuditSink;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const ident = z.string().regex(IDENT, "a plain SQL identifier");
const policySchema = z.object({
  table: ident,
  schema: ident.optional(),
  timestampColumn: ident,
  days: z.number().positive().max(365_000),
  tenantId: z.uuid().optional(),
  tenantColumn: ident.optional(),
  batchSize: z.number().int().min(1).max(100_000).optional(),
});

const q = (name: string) => `"${name}"`;

export async function runRetention(db: Db, policies: readonly RetentionPolicy[], options: RunRetentionOptions = {}): Promise<RetentionResult[]> {
  const checked = policies.map((p, i) => validate(policySchema, p, `retention policy #${i}`));
  const results: RetentionResult[] = [];
  for (const p of checked) {
    const table = p.schema ? `${q(p.schema)}.${q(p.table)}` : q(p.table);
    const batch = p.batchSize ?? 1000;
    const params: unknown[] = [p.days];
    let where = `${q(p.timestampColumn)} < now() - make_interval(secs => $1::float8 * 86400)`;
    if (p.tenantId) {
      params.push(p.tenantId);
      where += ` AND ${q(p.tenantColumn ?? "tenant_id")} = $2`;
    }
    let deleted = 0;
    for (;;) {
      const n = await db.execute(
        `DELETE FROM ${table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${table} WHERE ${where} LIMIT ${batch} FOR UPDATE SKIP LOCKED))`,
        params,
      );
      deleted += n;
      if (n < batch) break;
    }
    const result: RetentionResult = { table: p.table, deleted, ...(p.schema ? { schema: p.schema } : {}), ...(p.tenantId ? { tenantId: p.tenantId } : {}) };
    results.push(result);
    if (deleted > 0 && options.audit) {
      await db.transaction((tx) =>
        options.audit!.record(tx, {
          tenantId: p.tenantId ?? null,
          action: "gdpr.retention",
          targetType: "table",
          targetId: p.schema ? `${p.schema}.${p.table}` : p.table,
          after: { days: p.days, deleted },
        }),
      );
    }
  }
  return results;
}

export interface RetentionScheduleOptions extends RunRetentionOptions {
  /** Time between runs (default one hour, minimum one second). */
  intervalMs?: number;
  /** Run once right away (default true). */
  runOnStart?: boolean;
  onResult?: (results: RetentionResult[]) => void;
  onError?: (error: unknown) => void;
}

export interface RetentionScheduler {
  /** Runs the policies now (waits for a run in progress first). */
  runNow(): Promise<RetentionResult[]>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function scheduleRetention(db: Db, policies: readonly RetentionPolicy[], options: RetentionScheduleOptions = {}): RetentionScheduler {
  policies.forEach((p, i) => validate(policySchema, p, `retention policy #${i}`));
  return scheduleRuns(() => runRetention(db, policies, options), options);
}

/**
 * Runs `run` every `intervalMs` on an unref'd timer, never two at once. Shared by
 * `scheduleRetention` and `$stratum.scheduleRetention` (which runs per tenant and place).
 */
export function scheduleRuns(run: () => Promise<RetentionResult[]>, options: Omit<RetentionScheduleOptions, "batchSize"> = {}): RetentionScheduler {
  const intervalMs = options.intervalMs ?? 3_600_000;
  if (!Number.isFinite(intervalMs) || intervalMs < 1000) {
    throw new StratumError("VALIDATION_FAILED", "intervalMs must be at least 1000.");
  }
  let running: Promise<RetentionResult[]> | null = null;
  let stopped = false;

  const once = async (): Promise<RetentionResult[]> => {
    while (running) await running.catch(() => undefined);
    const current = run();
    running = current;
    try {
      const results = await current;
      options.onResult?.(results);
      return results;
    } finally {
      if (running === current) running = null;
    }
  };
  const tick = () => {
    if (stopped || running) return;
    once().catch((error) => options.onError?.(error));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  if (options.runOnStart ?? true) setImmediate(tick);

  return {
    runNow: once,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (running) await running.catch(() => undefined);
    },
  };
}
