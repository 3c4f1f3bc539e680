/**
 * The advisory lock key of the tenant tree. Tree mutations (create, move, archive, restore,
 * delete) hold it exclusively; config, permission and ABAC writes hold it shared while they read a
 * tenant's ancestors and lock along that chain, so a write below a subtree never interleaves with
 * a move of that subtree (the chain it locked would no longer be its chain).
 */
export const TREE_LOCK_KEY_SQL = "hashtextextended('stratum:tenant-tree', 0)";
