/**
 * The locks a tree write takes, no wider than the change (keys in core/locks.ts).
 *
 * A create reads its parent's path and builds the child's from it, so that path, and every path
 * above it, must not change until the create commits: it holds the subtree lock of each tenant on
 * the parent's path, shared. A move, archive, restore or delete holds the tree lock and the subtree
 * lock of the tenant it changes, exclusively: it waits for the creates in flight below that tenant
 * (so the statement that rewrites the subtree sees their rows) and later creates below it wait for
 * its commit. Creates anywhere else, and creates under one parent, do not wait for each other.
 *
 * No cycle of waits: a create holds only shared locks and a structural write takes its exclusive
 * subtree lock last, after which it waits for no advisory lock.
 */
import type { Db } from "../core/db.js";
import { subtreeLockKeySql, TREE_LOCK_KEY_SQL } from "../core/locks.js";

/**
 * Locks the subtree key of every tenant on `parentId`'s path, root first, in one statement.
 * Returns the path it locked (ltree text), or null when the parent does not exist. The path is the
 * one this statement read: a move that committed meanwhile is seen by the next statement, which
 * must compare (createChild's insert does).
 */
export async function lockParentChain(tx: Db, parentId: string): Promise<string | null> {
  const rows = await tx.query<{ path: string; locked: number }>(
    `SELECT l.path, count(pg_advisory_xact_lock_shared(${subtreeLockKeySql("l.label")}))::int AS locked
       FROM (SELECT t.path::text AS path, replace(ltree2text(subpath(t.path, g.i, 1)), '_', '-') AS label
               FROM public.stratum_tenants t, generate_series(0, nlevel(t.path) - 1) AS g(i)
              WHERE t.id = $1::uuid ORDER BY g.i OFFSET 0) l
      GROUP BY l.path`,
    [parentId],
  );
  return rows[0]?.path ?? null;
}

/** The tree lock, then `tenantId`'s subtree lock, both exclusive: for a move, archive, restore or delete. */
export async function lockSubtree(tx: Db, tenantId: string): Promise<void> {
  await tx.execute(`SELECT pg_advisory_xact_lock(${TREE_LOCK_KEY_SQL}), pg_advisory_xact_lock(${subtreeLockKeySql("$1::uuid::text")})`, [tenantId]);
}
