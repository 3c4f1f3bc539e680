/**
 * The insert of a new tenant row, under its parent's path locks (tree-locks.ts), in as few
 * statements as the checks allow: one that locks, one that inserts only when the parent is still
 * where it was locked, live and shallow enough, and the slug free — sent together on the driver
 * (the locking statement notes the path it read; the insert compares it). A third statement runs
 * only when the insert wrote nothing, to say why.
 */
import { randomUUID } from "node:crypto";
import { commitWith, type Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { MAX_DEPTH, type Tenant } from "../core/types.js";
import { COLUMNS, columns, toTenant, type TenantRow } from "./rows.js";
import { LOCKED_PATH_SQL, notePathLocks } from "./tree-locks.js";

export interface NewTenant {
  parentId: string | null;
  slug: string;
  name: string;
  strategy: string;
  metadata: Record<string, unknown>;
}

const INSERT_ROOT = `INSERT INTO public.stratum_tenants (id, parent_id, slug, name, isolation_strategy, metadata, updated_at)
  VALUES (gen_random_uuid(), NULL, $1, $2, $3, $4::jsonb, now())
  ON CONFLICT (slug) DO NOTHING RETURNING ${COLUMNS}`;

// LOCKED_PATH_SQL is the parent's path as notePathLocks read it, in the statement before this
// one (the same round trip on the driver): a move that committed while its locks were awaited
// changed it, and the row is not written (the new path is locked again).
const INSERT_CHILD = `INSERT INTO public.stratum_tenants (id, parent_id, slug, name, isolation_strategy, metadata, updated_at)
  SELECT gen_random_uuid(), p.id, $2, $3, $4, $5::jsonb, now() FROM public.stratum_tenants p
   WHERE p.id = $1::uuid AND p.path::text = ${LOCKED_PATH_SQL} AND p.status <> 'archived' AND p.depth + 1 < ${MAX_DEPTH}
  ON CONFLICT (slug) DO NOTHING RETURNING ${COLUMNS}`;

const WHY_NOT = `SELECT p.path::text AS path, ${LOCKED_PATH_SQL} AS locked, p.status, p.depth,
       EXISTS (SELECT 1 FROM public.stratum_tenants s WHERE s.slug = $2) AS taken
  FROM (SELECT 1) one LEFT JOIN public.stratum_tenants p ON p.id = $1::uuid`;

/** Inserts the row (the triggers fill path and depth and sign its scope tokens); typed errors otherwise. */
export async function insertTenant(tx: Db, t: NewTenant): Promise<Tenant> {
  const metadata = JSON.stringify(t.metadata);
  if (t.parentId === null) {
    const rows = await tx.query<TenantRow>(INSERT_ROOT, [t.slug, t.name, t.strategy, metadata], { name: "stratum_tenant_insert_root" });
    if (!rows[0]) throw slugTaken(t.slug);
    return toTenant(rows[0]);
  }
  // Each pass that finds the path changed follows a move of an ancestor that committed while the
  // locks were awaited; once a path is locked no later move can change it, so this ends. The
  // stale path's locks stay held; they are shared, which keeps locking again here deadlock-free
  // (tree-locks.ts).
  for (;;) {
    // The locks, then the insert that compares the path they were taken on: one round trip.
    await notePathLocks(tx, t.parentId);
    const rows = await tx.query<TenantRow>(INSERT_CHILD, [t.parentId, t.slug, t.name, t.strategy, metadata], { name: "stratum_tenant_insert_child" });
    if (rows[0]) return toTenant(rows[0]);
    const [why] = await tx.query<{ path: string | null; locked: string; status: string | null; depth: number | null; taken: boolean }>(WHY_NOT, [
      t.parentId,
      t.slug,
    ]);
    if (!why || why.path === null || why.locked === "") throw parentNotFound(t.parentId);
    refuseUnderParent(t.parentId, why.status, why.depth);
    if (why.path === why.locked && why.taken) throw slugTaken(t.slug);
    // Otherwise the parent moved after it was locked: lock its new chain and try again.
  }
}

/**
 * A concurrent write of the same slug that slipped past the check: 23505 on the slug's unique
 * index. pg puts the SQLSTATE in `code` (the driver's Db), Prisma in the message (its raw queries).
 */
export function isSlugViolation(error: unknown): boolean {
  if (error instanceof StratumError) return false;
  const e = error as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  const text = `${String(e?.code ?? "")} ${String(e?.message ?? "")} ${String(e?.constraint ?? "")}`;
  return /23505/.test(text) && /slug/.test(text);
}

export function slugTaken(slug: string): StratumError {
  return new StratumError("SLUG_TAKEN", `Slug ${JSON.stringify(slug)} is already used by another tenant; choose another slug.`, { slug });
}

/** Throws when a parent of this status and depth cannot take a child. */
function refuseUnderParent(parentId: string, status: string | null, parentDepth: number | null): void {
  if (status === "archived") {
    throw new StratumError("TENANT_ARCHIVED", `Parent tenant ${parentId} is archived; restore it before adding children.`, { tenantId: parentId });
  }
  const depth = Number(parentDepth) + 1;
  if (depth >= MAX_DEPTH) {
    throw new StratumError(
      "MAX_DEPTH_EXCEEDED",
      `A tenant under ${parentId} would be at depth ${depth}; the tree allows ${MAX_DEPTH} levels (depth 0-${MAX_DEPTH - 1}).`,
      { parentId },
    );
  }
}

function parentNotFound(id: string): StratumError {
  return new StratumError("TENANT_NOT_FOUND", `Tenant ${id} does not exist. Check the id or list tenants with listTenants().`, { tenantId: id });
}

// ---------------------------------------------------------------------------------------------
// The one-round-trip create: the insert is the transaction's last statement (Db.commitWith), and
// what follows it — the audit row, the webhook event, the change notice — and the COMMIT travel
// with it. They are queued before the row is known, so the insert notes what only the database
// computes (path, depth, timestamps) in CREATED_SETTING and the audit row and the event merge it
// over the row predicted in Node (AuditEntry.mergeAfter). Nothing may follow an insert that wrote
// nothing, so every refusal is an error that aborts the round trip: a taken slug its unique index
// (23505), a missing parent the path trigger (23503), too deep the depth check (23514), and an
// archived parent or one that moved while its locks were awaited a NULL slug (23502, see below).
// The reason is then read outside the rolled-back transaction (whyNotCreated).
// ---------------------------------------------------------------------------------------------

/** The transaction setting the insert notes the row's database-computed fields in. */
export const CREATED_SETTING = "stratum.created_tenant";

/** Where the inserted row (alias `ins`) notes its path, depth and timestamps as JSON, as toTenant and JSON.stringify shape them. */
const NOTE_CREATED = `pg_catalog.set_config('${CREATED_SETTING}', pg_catalog.json_build_object(
    'path', string_to_array(replace(ins.path::text, '_', '-'), '.'), 'depth', ins.depth,
    'created_at', to_char(ins.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'updated_at', to_char(ins.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text, true)`;

const CREATE_ROOT = `WITH ins AS (
  INSERT INTO public.stratum_tenants (id, parent_id, slug, name, isolation_strategy, metadata, updated_at)
  VALUES ($1::uuid, NULL, $2, $3, $4, $5::jsonb, now()) RETURNING *)
SELECT ${columns("ins.")} FROM ins WHERE ${NOTE_CREATED} IS NOT NULL`;

// The slug is NULL — refused by its NOT NULL, after the path trigger — unless the parent is still
// at the path its locks were taken on (LOCKED_PATH_SQL, noted by the statement before) and live.
const CREATE_CHILD = `WITH ins AS (
  INSERT INTO public.stratum_tenants (id, parent_id, slug, name, isolation_strategy, metadata, updated_at)
  VALUES ($1::uuid, $2::uuid,
          (SELECT $3::text FROM public.stratum_tenants p WHERE p.id = $2::uuid AND p.path::text = ${LOCKED_PATH_SQL} AND p.status <> 'archived'),
          $4, $5, $6::jsonb, now()) RETURNING *)
SELECT ${columns("ins.")} FROM ins WHERE ${NOTE_CREATED} IS NOT NULL`;

/** SQLSTATEs by which the create statement refuses (see above). */
const REFUSED = new Set(["23502", "23503", "23514"]);

export interface CreatedEffects {
  /** Defers, on `after`, what the transaction writes after the row: the audit row, the change notice. */
  (after: Db, predicted: PredictedTenant): Promise<void>;
}

/**
 * Creates the tenant in one transaction of one round trip on the driver (elsewhere the same
 * statements in turn): locks, insert, `effects`, COMMIT. Retries when an ancestor moved while the
 * locks were awaited; typed errors otherwise.
 */
export async function createInOneTrip(db: Db, t: NewTenant, effects: CreatedEffects): Promise<Tenant> {
  const metadata = JSON.stringify(t.metadata);
  for (let attempt = 0; ; attempt++) {
    const id = randomUUID();
    const predicted = predictedRow(id, t, metadata);
    try {
      const [row] = await db.transaction(async (tx) => {
        if (t.parentId !== null) await notePathLocks(tx, t.parentId);
        const [sql, params, name] =
          t.parentId === null
            ? [CREATE_ROOT, [id, t.slug, t.name, t.strategy, metadata], "stratum_tenant_create_root"]
            : [CREATE_CHILD, [id, t.parentId, t.slug, t.name, t.strategy, metadata], "stratum_tenant_create_child"];
        return commitWith<TenantRow>(tx, sql, params, { name }, (after) => effects(after, predicted));
      });
      return toTenant(row!);
    } catch (error) {
      if (isSlugViolation(error)) throw slugTaken(t.slug);
      if (t.parentId === null || !REFUSED.has(String((error as { code?: unknown }).code))) throw error;
      await whyNotCreated(db, t, error);
      // Nothing wrong with the parent now: it moved while its locks were awaited. Its new path is
      // locked on the next pass; moves are finite, but a livelock must not hang the caller.
      if (attempt >= 20) {
        throw new StratumError(
          "CONFLICT",
          `Parent tenant ${t.parentId} kept moving while a child was being created under it (${attempt + 1} attempts); retry when the moves have finished.`,
          { parentId: t.parentId },
        );
      }
    }
  }
}

/** The row as the insert will write it, but for what the database computes (NOTE_CREATED). */
export type PredictedTenant = Omit<Tenant, "path" | "depth" | "created_at" | "updated_at">;

/** `metadata` is the row's JSON as sent: parsed back, it holds what the jsonb column will (no Dates, no undefined). */
function predictedRow(id: string, t: NewTenant, metadata: string): PredictedTenant {
  return {
    id,
    parent_id: t.parentId,
    slug: t.slug,
    name: t.name,
    status: "active",
    isolation_strategy: t.strategy as Tenant["isolation_strategy"],
    placement: null,
    metadata: JSON.parse(metadata) as Record<string, unknown>,
    archived_at: null,
  };
}

const WHY_NOT_NOW = `SELECT p.status, p.depth FROM public.stratum_tenants p WHERE p.id = $1::uuid`;

/** Throws the typed reason a create under `t.parentId` was refused; returns when the parent is fine now. */
async function whyNotCreated(db: Db, t: NewTenant, error: unknown): Promise<void> {
  const [parent] = await db.query<{ status: string; depth: number }>(WHY_NOT_NOW, [t.parentId]);
  if (!parent) throw parentNotFound(t.parentId!);
  refuseUnderParent(t.parentId!, parent.status, parent.depth);
  // 23503 or 23514 with a parent that exists and is shallow enough: not a move, but something the
  // checks above do not know; say what PostgreSQL said rather than retry.
  if (String((error as { code?: unknown }).code) !== "23502") throw error;
}
