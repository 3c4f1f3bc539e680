/**
 * Advisory lock keys of the tenant tree.
 *
 * TREE_LOCK_KEY_SQL, tree-wide. Moves, archive, restore and delete hold it exclusively; config,
 * permission and ABAC writes hold it shared while they read a tenant's ancestors and lock along
 * that chain, so a write below a subtree never interleaves with a move of that subtree (the chain
 * it locked would no longer be its chain). Creating a tenant does NOT take it: a create changes no
 * existing path, so it needs only the subtree locks below.
 *
 * subtreeLockKeySql, one per tenant: "the path of this tenant and of everything below it stays as
 * it is". A create holds it shared on every tenant of its parent's path (root to parent); a move,
 * archive, restore or delete holds it exclusively on the tenant it changes. So a create waits only
 * for a structural change of its own parent's chain, and creates under any parents run side by
 * side. Its keys use seed 1, apart from the per-tenant keys config writes take (seed 0): a create
 * under a tenant never waits for that tenant's config write.
 */
export const TREE_LOCK_KEY_SQL = "hashtextextended('stratum:tenant-tree', 0)";

/** The subtree lock key of the tenant whose canonical uuid text is the SQL expression `idText`. */
export function subtreeLockKeySql(idText: string): string {
  return `hashtextextended(${idText}, 1)`;
}
