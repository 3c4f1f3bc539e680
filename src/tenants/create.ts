/**
 * The insert of a new tenant row, under its parent's path locks (tree-locks.ts), in as few
 * statements as the checks allow: one that locks, one that inserts only when the parent is still
 * where it was locked, live and shallow enough, and the slug free — sent together on the driver
 * (the locking statement notes the path it read; the insert compares it). A third statement runs
 * only when the insert wrote nothing, to say why.
 */
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { MAX_DEPTH, type Tenant } from "../core/types.js";
import { COLUMNS, toTenant, type TenantRow } from "./rows.js";
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
    if (why.status === "archived") {
      throw new StratumError("TENANT_ARCHIVED", `Parent tenant ${t.parentId} is archived; restore it before adding children.`, { tenantId: t.parentId });
    }
    const depth = Number(why.depth) + 1;
    if (depth >= MAX_DEPTH) {
      throw new StratumError(
        "MAX_DEPTH_EXCEEDED",
        `A tenant under ${t.parentId} would be at depth ${depth}; the tree allows ${MAX_DEPTH} levels (depth 0-${MAX_DEPTH - 1}).`,
        { parentId: t.parentId },
      );
    }
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

function parentNotFound(id: string): StratumError {
  return new StratumError("TENANT_NOT_FOUND", `Tenant ${id} does not exist. Check the id or list tenants with listTenants().`, { tenantId: id });
}
