/**
 * The audit log: one append-only row per mutation, written in the caller's transaction so it
 * commits and rolls back with the change. The app role holds only SELECT and INSERT on
 * stratum_audit (src/sql/security.ts), so rows cannot be rewritten from the application.
 *
 * Column `actor` stores `<type>:<id>` (e.g. `user:42`, `system:system`); reads parse it back.
 */
import { z } from "zod";
import { executeOrDefer, type Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { Actor, AuditEntry, AuditSink } from "../core/ports.js";
import { validate } from "../core/validate.js";
import { currentActor } from "./actor.js";
import { DEFAULT_SENSITIVE_KEYS, redact } from "./redact.js";
import { subtreeIdRowsSql } from "../core/subtree.js";

export interface AuditRecord {
  id: string;
  tenant_id: string | null;
  actor: { id: string; type: NonNullable<Actor["type"]> | string };
  action: string;
  target_type: string | null;
  target_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  created_at: Date;
}

export interface AuditFilters {
  /** Exact action, or a prefix ending in `.*` (e.g. `config.*`). */
  action?: string;
  /** Actor id (any type), or `<type>:<id>`. */
  actor?: string;
  since?: Date | string;
  until?: Date | string;
  /** 1..500, default 50. */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string | null;
}

export interface AuditPage {
  entries: AuditRecord[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

export interface AuditServiceOptions {
  /** Extra keys to redact, on top of DEFAULT_SENSITIVE_KEYS. */
  sensitiveKeys?: readonly string[];
}

export interface AuditService extends AuditSink {
  /** Entries visible to `tenantId`: its own and its whole subtree's, newest first. */
  list(tenantId: string, filters?: AuditFilters): Promise<AuditPage>;
}

const entrySchema = z.object({
  tenantId: z.uuid().nullable(),
  action: z
    .string()
    .max(100)
    .regex(/^[a-z][a-zA-Z0-9_-]*(\.[a-zA-Z0-9_-]+)+$/, "a dotted verb like tenant.create"),
  targetType: z.string().min(1).max(100).optional(),
  targetId: z.string().min(1).max(500).optional(),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
  mergeAfter: z
    .string()
    .regex(/^stratum\.[a-z_]{1,50}$/, "a stratum.<name> setting")
    .optional(),
});

/** `after` as written: the entry's, with the noted setting's object merged over it (AuditEntry.mergeAfter). */
const MERGED_AFTER_SQL = (after: string, setting: string) =>
  `CASE WHEN ${setting} = '' THEN ${after} ELSE coalesce(${after}, '{}'::jsonb) || pg_catalog.current_setting(${setting})::jsonb END`;

const dateLike = z.union([z.date(), z.iso.datetime({ offset: true })]).transform((v) => (v instanceof Date ? v : new Date(v)));

const filtersSchema = z.object({
  action: z.string().min(1).max(200).optional(),
  actor: z.string().min(1).max(300).optional(),
  since: dateLike.optional(),
  until: dateLike.optional(),
  limit: z.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^[0-9]{1,19}$/, "a cursor returned by a previous page")
    .nullable()
    .optional(),
});

export function encodeActor(actor: Actor): string {
  return `${actor.type ?? "user"}:${actor.id}`;
}

export function decodeActor(stored: string): AuditRecord["actor"] {
  const i = stored.indexOf(":");
  return i < 0 ? { id: stored, type: "user" } : { type: stored.slice(0, i), id: stored.slice(i + 1) };
}

function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** Writes one audit row in `tx`. Exported for services that want the sink without a service. */
export async function recordAudit(tx: Db, entry: AuditEntry, sensitiveKeys: readonly string[] = DEFAULT_SENSITIVE_KEYS): Promise<void> {
  const e = validate(entrySchema, entry, "audit entry");
  const actor = currentActor();
  // Nothing reads the insert's result: on the driver it rides with the transaction's next statement.
  await executeOrDefer(
    tx,
    `INSERT INTO public.stratum_audit (tenant_id, actor, action, target_type, target_id, before, after, request_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, ${MERGED_AFTER_SQL("$7::jsonb", "$9::text")}, $8, clock_timestamp())`,
    [
      e.tenantId,
      encodeActor(actor),
      e.action,
      e.targetType ?? null,
      e.targetId ?? null,
      toJson(e.before === undefined ? undefined : redact(e.before, sensitiveKeys)),
      toJson(e.after === undefined ? undefined : redact(e.after, sensitiveKeys)),
      actor.requestId ?? null,
      e.mergeAfter ?? "",
    ],
    { name: "stratum_audit_insert" },
  );
}

interface AuditRow {
  id: string;
  tenant_id: string | null;
  actor: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  created_at: Date;
}

/** Entries `tenantId` may see (itself and its subtree, core/subtree.ts), newest first, paged by id. */
export async function listAudit(db: Db, tenantId: string, filters: AuditFilters = {}): Promise<AuditPage> {
  validate(z.uuid(), tenantId, "tenant id");
  const f = validate(filtersSchema, filters, "audit filters");
  const exists = await db.query<{ ok: number }>(`SELECT 1 AS ok FROM public.stratum_tenants WHERE id = $1`, [tenantId]);
  if (exists.length === 0) throw new StratumError("TENANT_NOT_FOUND", `Tenant ${tenantId} does not exist.`, { tenantId });

  const params: unknown[] = [tenantId];
  const where: string[] = [`a.tenant_id IN (${subtreeIdRowsSql("$1::uuid")})`];
  if (f.action) {
    if (f.action.endsWith(".*")) {
      params.push(f.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`) + "%");
      where.push(`a.action LIKE $${params.length}`);
    } else {
      params.push(f.action);
      where.push(`a.action = $${params.length}`);
    }
  }
  if (f.actor) {
    params.push(f.actor);
    where.push(f.actor.includes(":") ? `a.actor = $${params.length}` : `substr(a.actor, strpos(a.actor, ':') + 1) = $${params.length}`);
  }
  if (f.since) {
    params.push(f.since);
    where.push(`a.created_at >= $${params.length}`);
  }
  if (f.until) {
    params.push(f.until);
    where.push(`a.created_at < $${params.length}`);
  }
  if (f.cursor) {
    params.push(f.cursor);
    where.push(`a.id < $${params.length}::bigint`);
  }
  params.push(f.limit + 1);
  const rows = await db.query<AuditRow>(
    `SELECT a.id::text AS id, a.tenant_id, a.actor, a.action, a.target_type, a.target_id, a.before, a.after,
            a.request_id, a.created_at
       FROM public.stratum_audit a
      WHERE ${where.join(" AND ")}
      ORDER BY a.id DESC
      LIMIT $${params.length}`,
    params,
  );
  const page = rows.slice(0, f.limit);
  return {
    entries: page.map((r) => ({ ...r, actor: decodeActor(r.actor) })),
    next_cursor: rows.length > f.limit ? page[page.length - 1]!.id : null,
  };
}

export function createAuditService(db: Db, options: AuditServiceOptions = {}): AuditService {
  const keys = [...DEFAULT_SENSITIVE_KEYS, ...(options.sensitiveKeys ?? [])];
  return {
    record: (tx, entry) => recordAudit(tx, entry, keys),
    list: (tenantId, filters) => listAudit(db, tenantId, filters),
  };
}
