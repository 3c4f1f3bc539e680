/**
 * Advisory lock keys of the tenant tree. There is no tree-wide lock: every write locks the
 * tenants whose paths it reads or changes, and nothing else.
 *
 * subtreeLockKeySql, one per tenant (seed 1): "the path of this tenant and of everything below it
 * stays as it is". Whoever builds on a tenant's path holds it shared on every tenant of that path
 * (root to tenant): a create on its parent's path, a config, permission or ABAC write on its
 * tenant's path, a move on its tenant's old path and on its new parent's path. A move, archive,
 * restore or delete holds it exclusively on the one tenant it changes. So two writes wait for each
 * other only when one changes a tenant on the other's path; moves in disjoint subtrees, and creates
 * anywhere, run side by side.
 *
 * Order, so that no set of writers waits in a cycle: a write takes its subtree locks in ONE
 * statement, sorted by key (subtreeLocksSql), before any other tree lock. Sorting by key rather
 * than by path because a move locks two paths (old and new parent) with no path order between
 * them, and because a key, unlike a path, cannot change while a writer waits. A move that finds,
 * once locked, that a path it read has changed rolls its transaction back and starts again
 * (tenants/tree-locks.ts): it never waits for a lock while holding its exclusive one out of order.
 * A create or config write that finds its path changed locks the new one in a second statement,
 * keeping the first's shared locks; tenants/tree-locks.ts says why that is safe.
 *
 * configLockKeySql (seed 0), taken after the subtree locks by config, permission and ABAC writes:
 * shared on the tenant's ancestors, exclusive on the tenant, root first, so a write below waits
 * for a write above (a key being locked). Only those writes take them, on a chain their subtree
 * locks keep still, so root-first order is one order for all of them. The seeds keep the two
 * families apart: a create under a tenant never waits for that tenant's config write.
 */

/** The subtree lock key of the tenant whose canonical uuid text is the SQL expression `idText`. */
export function subtreeLockKeySql(idText: string): string {
  return `hashtextextended(${idText}, 1)`;
}

/** The config lock key (config, permission and ABAC writes) of the tenant whose uuid text is `idText`. */
export function configLockKeySql(idText: string): string {
  return `hashtextextended(${idText}, 0)`;
}

/** SQL: the tenant ids (uuid text) of ltree `path`, with their depth `i`, root first. */
export function pathLabelsSql(path: string): string {
  return `SELECT replace(ltree2text(subpath(${path}, g.i, 1)), '_', '-') AS id, g.i FROM generate_series(0, nlevel(${path}) - 1) AS g(i)`;
}

/**
 * SQL, an int expression: takes the subtree locks listed by `rows` (a query with columns `id`,
 * the tenant's uuid text, and `own`, true for the one lock to take exclusively) in key order, in
 * this one statement, and counts them. The OFFSET keeps the sorted subquery from being flattened,
 * so the locks are taken in the order the sort yields.
 */
export function subtreeLocksSql(rows: string): string {
  return `(SELECT count(CASE WHEN l.own THEN pg_advisory_xact_lock(l.key) ELSE pg_advisory_xact_lock_shared(l.key) END)::int
     FROM (SELECT ${subtreeLockKeySql("r.id")} AS key, bool_or(r.own) AS own FROM (${rows}) r GROUP BY r.id ORDER BY 1 OFFSET 0) l)`;
}
