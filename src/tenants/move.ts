/**
 * A subtree's move to a new parent, under the locks of the two paths it touches (tree-locks.ts):
 * one statement locks, one reads what the checks need (the tenant, its subtree's height, the new
 * parent's depth and status, whether the new parent is inside the subtree) and the two paths again
 * — the two in one round trip on the driver — and one rewrites every path of the subtree and
 * returns the moved tenant.
 */
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { subtreeSql } from "../core/subtree.js";
import { MAX_DEPTH, type Tenant } from "../core/types.js";
import { columns, toTenant, type TenantRow } from "./rows.js";
import { LOCKED_PARENT_PATH_SQL, LOCKED_PATH_SQL, noteMoveLocks, PathMoved } from "./tree-locks.js";

// The subtree by index, not by `path <@` (core/subtree.ts says why); it cannot change under the
// move's exclusive lock (tree-locks.ts).
const SUBTREE = subtreeSql("$1::uuid");

export const PLAN = `SELECT ${columns("t.")},
       (SELECT max(d.depth)::int FROM ${SUBTREE} s, public.stratum_tenants d WHERE d.id = ANY(s.ids)) - t.depth AS height,
       p.id IS NOT NULL AS parent_found, p.depth AS parent_depth, p.status AS parent_status, coalesce(p.path <@ t.path, false) AS inside,
       t.path::text AS locked_path, p.path::text AS locked_parent_path,
       ${LOCKED_PATH_SQL} AS noted_path, ${LOCKED_PARENT_PATH_SQL} AS noted_parent_path
  FROM public.stratum_tenants t LEFT JOIN public.stratum_tenants p ON p.id = $2::uuid
 WHERE t.id = $1::uuid`;

// New parent path || the part below the old parent, for the whole subtree in one statement.
export const REWRITE = `WITH moving AS (SELECT path, nlevel(path) AS lvl FROM public.stratum_tenants WHERE id = $1::uuid),
     target AS (SELECT coalesce((SELECT path FROM public.stratum_tenants WHERE id = $2::uuid), ''::ltree) AS path),
     moved AS (
       UPDATE public.stratum_tenants t
          SET path = target.path || subpath(t.path, moving.lvl - 1),
              depth = nlevel(target.path || subpath(t.path, moving.lvl - 1)) - 1,
              parent_id = CASE WHEN t.id = $1::uuid THEN $2::uuid ELSE t.parent_id END,
              updated_at = CASE WHEN t.id = $1::uuid THEN now() ELSE t.updated_at END
         FROM moving, target, ${SUBTREE} subtree
        WHERE t.id = ANY(subtree.ids)
       RETURNING t.*)
SELECT ${columns("moved.")} FROM moved WHERE moved.id = $1::uuid`;

interface PlanRow extends TenantRow {
  height: number;
  parent_found: boolean;
  parent_depth: number | null;
  parent_status: string | null;
  inside: boolean;
  locked_path: string;
  locked_parent_path: string | null;
  /** The paths as the locking statement read them, before its locks were granted ('' for none). */
  noted_path: string;
  noted_parent_path: string;
}

/**
 * Moves `id` (and its subtree) under `newParentId` (null: a root). Returns the tenant before and
 * after. Throws PathMoved when a path it locked changed before its locks were granted: the caller
 * runs the transaction again (retryWhilePathsMove).
 */
export async function moveSubtree(tx: Db, id: string, newParentId: string | null): Promise<{ before: Tenant; after: Tenant }> {
  // The locks travel with the statement that reads the plan (one round trip on the driver).
  await noteMoveLocks(tx, id, newParentId);
  const [plan] = await tx.query<PlanRow>(PLAN, [id, newParentId], { name: "stratum_move_plan" });
  if (!plan) throw notFound(id);
  const { height, parent_found, parent_depth, parent_status, inside, locked_path, locked_parent_path, noted_path, noted_parent_path, ...row } = plan;
  // Read after the locks were granted, so no later move can change them before this commits.
  if (locked_path !== noted_path || (locked_parent_path ?? "") !== noted_parent_path) throw new PathMoved();
  const before = toTenant(row);
  if (newParentId === before.parent_id) return { before, after: before };
  let parentDepth = -1;
  if (newParentId !== null) {
    if (!parent_found) throw notFound(newParentId);
    if (inside) {
      throw new StratumError("CYCLE_DETECTED", `Cannot move tenant ${id} under ${newParentId}: the new parent is inside the tenant's own subtree.`, {
        tenantId: id,
        newParentId,
      });
    }
    if (parent_status === "archived") {
      throw new StratumError("TENANT_ARCHIVED", `Tenant ${newParentId} is archived; restore it before moving tenants under it.`, { tenantId: newParentId });
    }
    parentDepth = Number(parent_depth);
  }
  const deepest = parentDepth + 1 + Number(height);
  if (deepest >= MAX_DEPTH) {
    throw new StratumError(
      "MAX_DEPTH_EXCEEDED",
      `Moving tenant ${id} there would put its deepest descendant at depth ${deepest}; the tree allows ${MAX_DEPTH} levels.`,
      { tenantId: id, newParentId },
    );
  }
  const [after] = await tx.query<TenantRow>(REWRITE, [id, newParentId], { name: "stratum_move_rewrite" });
  return { before, after: toTenant(after!) };
}

function notFound(id: string): StratumError {
  return new StratumError("TENANT_NOT_FOUND", `Tenant ${id} does not exist. Check the id or list tenants with listTenants().`, { tenantId: id });
}
