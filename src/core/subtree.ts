/**
 * A tenant's subtree in SQL that indexes can serve on stratum_tenants.
 *
 * stratum_tenants has row security (stratum_admin_only: the admin scope reads it), and PostgreSQL
 * uses an index for a condition on such a table only when the condition's operator is leakproof.
 * ltree's `<@` and `@>` are not (uuid's `=` is), so `path <@ (the tenant's path)` read the whole
 * table as the app role, whatever the subtree's size: a move at 7,000 tenants spent ≈ 5 ms of
 * PostgreSQL's CPU on it, and it grows with the table. Walking down `parent_id` instead does not
 * hold up either: PostgreSQL cannot estimate a recursive join and hashes the whole table, and a
 * level-by-level `parent_id = ANY(…)` is priced from the column's statistics, which a tree with one
 * parent of many children skews into a sequential scan.
 *
 * So the services ask `stratum_subtree_ids(id)` (src/sql/security.ts): a function that reads the
 * table as its owner, whom the row security does not apply to, where `<@` walks the path index,
 * and answers only the admin scope. `t.id = ANY(…)` then reads the rows by primary key. Outside
 * the admin scope it answers NULL and the subtree is read here as the caller may read it: a
 * service on a plain pool as the owner (tooling, tests) reads it through the index too, anyone
 * else through the table's row security.
 */

/**
 * SQL, a FROM item with one row and one column `ids`: the `uuid[]` of the subtree of the tenant
 * whose id is the SQL expression `id` (itself and every descendant, archived ones too). Join it
 * and write `t.id = ANY(<alias>.ids)`: written into the condition itself, the fallback's subquery
 * makes PostgreSQL treat the whole condition as able to leak past the row security, and it is
 * evaluated row by row after a scan of the table (OFFSET 0 keeps the item from being folded back).
 */
export function subtreeSql(id: string): string {
  return `(SELECT coalesce(public.stratum_subtree_ids(${id}),
      ARRAY(SELECT s.id FROM public.stratum_tenants s WHERE s.path OPERATOR(public.<@) (SELECT r.path FROM public.stratum_tenants r WHERE r.id = ${id}))) AS ids
    OFFSET 0)`;
}

/** SQL for `… IN (<this>)`: the subtree's ids as rows (see subtreeSql). */
export function subtreeIdRowsSql(id: string): string {
  return `SELECT unnest(sub.ids) FROM ${subtreeSql(id)} sub`;
}

/**
 * SQL, a FROM item with one row and one column `ids`: the `uuid[]` of the chain of the tenant whose
 * id is the SQL expression `id` — its ancestors root first, then itself. No row when that tenant
 * is not there (or not visible to the caller).
 *
 * For the same reason as above, `a.path @> t.path` reads the whole tenants table under its row
 * security. A path's labels are its tenants' ids (`_` for `-`), so the chain needs no table at
 * all past the tenant's own row, read by primary key; `a.id = ANY(<alias>.ids)` then reads the
 * ancestors by primary key too. Unlike the subtree, it needs no definer function: the caller reads
 * nothing it could not read already.
 */
export function chainSql(id: string): string {
  return `(SELECT ARRAY(SELECT replace(public.ltree2text(public.subpath(r.path, g.i, 1)), '_', '-')::uuid
                    FROM generate_series(0, public.nlevel(r.path) - 1) AS g(i) ORDER BY g.i) AS ids
      FROM public.stratum_tenants r WHERE r.id = ${id} OFFSET 0)`;
}
