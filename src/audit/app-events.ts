/**
 * The application's own audit events (a user exported a report, an admin changed a plan) next to
 * stratum's, in the same trail: one query, one retention, one export. The app names the actor
 * (its user, not the API key that carries the request) and may back-date the event to when it
 * happened. Stratum's own action namespaces are refused, so an app event can never pass for a
 * change stratum made.
 */
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { validate } from "../core/validate.js";
import { DEFAULT_SENSITIVE_KEYS, redact } from "./redact.js";
import { decodeActor, type AuditRecord } from "./service.js";
import { subtreeIdRowsSql } from "../core/subtree.js";

/** First segments of the actions stratum itself writes. */
export const RESERVED_AUDIT_NAMESPACES = [
  "tenant",
  "config",
  "permission",
  "abac",
  "policy",
  "isolation",
  "api_key",
  "webhook",
  "gdpr",
  "consent",
  "subject",
  "scope_key",
  "audit",
  "role",
] as const;

export interface AppAuditEvent {
  actor: { id: string; type?: string };
  /** A dotted verb outside stratum's namespaces, e.g. `report.export`. */
  action: string;
  resource?: { type: string; id: string };
  before?: unknown;
  after?: unknown;
  /** When it happened (ISO or Date); default now. Not in the future. */
  occurred_at?: string | Date;
  /** The request that recorded it, for correlation. */
  request_id?: string;
}

/** An app event's actor type: a lower-case word (user, service, …); the HTTP schema uses it too. */
export const APP_ACTOR_TYPE = /^[a-z][a-z0-9_]{0,39}$/;

/** What an app event is about; the HTTP schema uses it too. */
export const AppEventResource = z.object({ type: z.string().min(1).max(100), id: z.string().min(1).max(500) }).strict();

const EventSchema = z
  .object({
    actor: z
      .object({
        id: z.string().min(1).max(200),
        type: z.string().regex(APP_ACTOR_TYPE).default("user"),
      })
      .strict(),
    action: z
      .string()
      .max(100)
      .regex(/^[a-z][a-zA-Z0-9_-]*(\.[a-zA-Z0-9_-]+)+$/, "a dotted verb like report.export"),
    resource: AppEventResource.optional(),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
    occurred_at: z.coerce.date().optional(),
    request_id: z.string().max(200).optional(),
  })
  .strict();

const COLUMNS = "a.id::text AS id, a.tenant_id, a.actor, a.action, a.target_type, a.target_id, a.before, a.after, a.request_id, a.created_at";

export async function appendAppAudit(db: Db, tenantId: string, event: AppAuditEvent): Promise<AuditRecord> {
  validate(z.uuid(), tenantId, "tenant id");
  const e = validate(EventSchema, event, "audit event");
  const namespace = e.action.split(".")[0]!;
  if ((RESERVED_AUDIT_NAMESPACES as readonly string[]).includes(namespace)) {
    throw new StratumError("VALIDATION_FAILED", `Actions under "${namespace}." are stratum's own; name the app's event differently (e.g. app.${e.action}).`, {
      field: "action",
    });
  }
  if (e.occurred_at && e.occurred_at.getTime() > Date.now() + 60_000) {
    throw new StratumError("VALIDATION_FAILED", "occurred_at is in the future: give the time the event happened.", { field: "occurred_at" });
  }
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(redact(v, DEFAULT_SENSITIVE_KEYS)));
  return db.transaction(async (tx) => {
    const exists = await tx.query(`SELECT 1 AS ok FROM public.stratum_tenants WHERE id = $1::uuid`, [tenantId]);
    if (!exists.length) throw new StratumError("TENANT_NOT_FOUND", `Tenant ${tenantId} does not exist.`, { tenantId });
    const rows = await tx.query<AuditRecord & { actor: string }>(
      `INSERT INTO public.stratum_audit AS a (tenant_id, actor, action, target_type, target_id, before, after, request_id, created_at)
       VALUES ($1::uuid, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, coalesce($9::timestamptz, clock_timestamp()))
       RETURNING ${COLUMNS}`,
      [
        tenantId,
        `${e.actor.type}:${e.actor.id}`,
        e.action,
        e.resource?.type ?? null,
        e.resource?.id ?? null,
        json(e.before),
        json(e.after),
        e.request_id ?? null,
        e.occurred_at ?? null,
      ],
    );
    const row = rows[0]!;
    return { ...row, actor: decodeActor(row.actor) };
  });
}

/** One entry, if it belongs to the tenant or its subtree; NOT_FOUND otherwise (no probing). */
export async function getAuditEntry(db: Db, tenantId: string, entryId: string): Promise<AuditRecord> {
  validate(z.uuid(), tenantId, "tenant id");
  validate(z.string().regex(/^[0-9]{1,19}$/, "an audit entry id"), entryId, "audit entry id");
  const rows = await db.query<AuditRecord & { actor: string }>(
    `SELECT ${COLUMNS} FROM public.stratum_audit a
      WHERE a.id = $2::bigint
        AND a.tenant_id IN (${subtreeIdRowsSql("$1::uuid")})`,
    [tenantId, entryId],
  );
  if (!rows[0]) throw new StratumError("NOT_FOUND", `Tenant ${tenantId} has no audit entry ${entryId} in its subtree.`, { entryId });
  return { ...rows[0], actor: decodeActor(rows[0].actor) };
}
