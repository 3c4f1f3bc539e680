/**
 * The locks a tree write takes, no wider than the change (keys and their order in core/locks.ts).
 *
 * - A create holds the subtree lock of each tenant on its parent's path, shared: that path must
 *   not change until the create commits (notePathLocks).
 * - A move of T under P holds it shared on T's ancestors (T's path must stay put while its
 *   subtree is rewritten from it) and on P's path, P included (the new paths are built from it, P
 *   must not be archived, deleted or moved into T meanwhile), and exclusively on T (noteMoveLocks).
 * - An archive, restore, suspend or delete of T holds it exclusively on T only (lockSubtree): it
 *   reads no path, and every write that builds on T's path holds T's lock shared.
 *
 * So a move waits for the creates, moves and config writes in flight below or into T, and those
 * that start later wait for its commit; writes in disjoint subtrees never wait for each other.
 *
 * The paths are read before their locks are granted, so whoever locks checks them again after
 * (a move that committed meanwhile changed them). A move holds an exclusive lock: it must not wait
 * for another lock while holding it out of key order (two such movers could wait for each other),
 * so it rolls the transaction back and starts over (retryWhilePathsMove), holding nothing. A create
 * or a config write holds only shared subtree locks and locks the new path in the same
 * transaction, keeping the stale path's locks. That cannot close a cycle of waits: a shared
 * request waits only for the holder of an exclusive lock, an archive or delete (which waits for no
 * other subtree lock) or a move that already holds every lock below its own key and waits only for
 * keys above it, so such waits climb the key order and end. The one cycle a stale lock allows passes through a shared request queued behind a waiting
 * move's exclusive request, not blocked by any holder; PostgreSQL's deadlock check (after
 * deadlock_timeout) moves that request ahead in the queue instead of failing a transaction.
 */
import { executeOrDefer, type Db } from "../core/db.js";
import { pathLabelsSql, subtreeLockKeySql, subtreeLocksSql } from "../core/locks.js";

/** A path read before its lock changed before the lock was granted: start the transaction again. */
export class PathMoved extends Error {
  constructor() {
    super("A tenant path changed while its lock was awaited; the transaction is retried.");
    this.name = "PathMoved";
  }
}

/** Runs `transaction` again each time it throws PathMoved (a move committed under it); moves are finite, so this ends. */
export async function retryWhilePathsMove<T>(transaction: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await transaction();
    } catch (error) {
      if (!(error instanceof PathMoved)) throw error;
    }
  }
}

const LOCK_PATH = `SELECT t.path::text AS path, ${subtreeLocksSql(`SELECT l.id, false AS own FROM (${pathLabelsSql("t.path")}) l`)} AS locked
  FROM public.stratum_tenants t WHERE t.id = $1::uuid`;

/**
 * Locks the subtree key of every tenant on a tenant's path, shared, in one statement, and notes
 * the path it read in the transaction-local `stratum.locked_path` ('' for no such tenant) instead
 * of returning it: a move that committed while the locks were awaited is seen by the next
 * statement, which compares (createTenant's insert, tenants/create.ts), and can travel in the same
 * round trip.
 */
const NOTE_PATH_LOCKS = `SELECT pg_catalog.set_config('stratum.locked_path', coalesce(x.path, ''), true) AS path, x.locked
  FROM (SELECT 1) one LEFT JOIN (${LOCK_PATH}) x ON true`;

/** The SQL that reads what notePathLocks noted (ltree text; '' when the tenant did not exist). */
export const LOCKED_PATH_SQL = "pg_catalog.current_setting('stratum.locked_path')";

/**
 * Takes those locks without waiting for an answer where the Db pipelines (Db.defer): the next
 * statement of the transaction compares the path against LOCKED_PATH_SQL.
 */
export function notePathLocks(tx: Db, tenantId: string): Promise<void> {
  return executeOrDefer(tx, NOTE_PATH_LOCKS, [tenantId], { name: "stratum_note_path_locks" });
}

const LOCK_MOVE = `WITH moving AS (SELECT path FROM public.stratum_tenants WHERE id = $1::uuid),
     target AS (SELECT path FROM public.stratum_tenants WHERE id = $2::uuid)
SELECT (SELECT path::text FROM moving) AS path, (SELECT path::text FROM target) AS parent_path,
       ${subtreeLocksSql(`SELECT l.id, l.i = nlevel(m.path) - 1 AS own FROM moving m, LATERAL (${pathLabelsSql("m.path")}) l
                           UNION ALL SELECT l.id, false FROM target p, LATERAL (${pathLabelsSql("p.path")}) l`)} AS locked`;

const NOTE_MOVE_LOCKS = `SELECT pg_catalog.set_config('stratum.locked_path', coalesce(x.path, ''), true) AS path,
       pg_catalog.set_config('stratum.locked_parent_path', coalesce(x.parent_path, ''), true) AS parent_path, x.locked
  FROM (${LOCK_MOVE}) x`;

/** The SQL that reads the new parent's path as noteMoveLocks read it ('' for none). */
export const LOCKED_PARENT_PATH_SQL = "pg_catalog.current_setting('stratum.locked_parent_path')";

/**
 * A move's locks, in one statement in key order: shared on the moving tenant's ancestors and on
 * the new parent's path, exclusive on the moving tenant. Like notePathLocks it notes the two paths
 * it read (LOCKED_PATH_SQL, LOCKED_PARENT_PATH_SQL; '' for no such tenant) instead of returning
 * them, so on the driver it travels with the statement that reads them again after the locks and
 * compares (tenants/move.ts: PathMoved if either changed).
 */
export function noteMoveLocks(tx: Db, tenantId: string, newParentId: string | null): Promise<void> {
  return executeOrDefer(tx, NOTE_MOVE_LOCKS, [tenantId, newParentId], { name: "stratum_note_move_locks" });
}

/** `tenantId`'s subtree lock, exclusive, alone: for an archive, restore, suspend or delete. */
export async function lockSubtree(tx: Db, tenantId: string): Promise<void> {
  await tx.execute(`SELECT pg_advisory_xact_lock(${subtreeLockKeySql("$1::uuid::text")})`, [tenantId]);
}
