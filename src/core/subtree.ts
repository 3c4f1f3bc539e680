/**
 * A tenant's subtree in SQL that indexes can serve on stratum_tenants.
 *
 * stratum_tenants has row security (stratum_admin_only: the admin scope reads it), and PostgreSQL
 * uses an index for a condition on such a table only when the condition's operator is leakproof.
 * ltree's `<@` and `@>` are not (uuid's `=` is), so `path <@ (the tenant's path)` reads the whole
 * table as the app role, whatever the subtree's size: a move at 7,000 tenants spent ≈ 5 ms of
 * PostgreSQL's CPU on it, and it grows with the table. A recursive join down `parent_id` is no
 * better: PostgreSQL cannot estimate its size and hashes the whole table for it.
 *
 * So the subtree is walked a level at a time, each level one index scan on parent_id
 * (`parent_id = ANY(the level above)`), and handed over as one array. parent_id and path agree on
 * every row (the tree's invariants), so it is the same set as `path <@`, archived tenants
 * included. At most 20 levels.
 */

/** SQL: a `uuid[]` of the subtree of the tenant whose id is the SQL expression `id` (itself included, first). */
export function subtreeIdsSql(id: string): string {
  return `ARRAY(WITH RECURSIVE level(ids) AS (
      SELECT ARRAY[${id}]
      UNION ALL SELECT ARRAY(SELECT c.id FROM public.stratum_tenants c WHERE c.parent_id = ANY(level.ids)) FROM level WHERE cardinality(level.ids) > 0)
    SELECT unnest(ids) FROM level)`;
}
