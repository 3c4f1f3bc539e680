/**
 * The tree reads of the tenants service, as SQL with `$1` the tenant's id. They find a chain or a
 * subtree through the primary key (core/subtree.ts), never by comparing paths with ltree's `@>`
 * or `<@`, which the tenants table's row security keeps from its index: test/driver-db.test.ts
 * plans each of them as the services run them.
 */
import { chainSql, subtreeSql } from "../core/subtree.js";
import { columns, COLUMNS } from "./rows.js";

/** The top of the tenant's tree: its chain's first id. */
export const ROOT_SQL = `SELECT ${columns("r.")} FROM ${chainSql("$1::uuid")} chain, public.stratum_tenants r WHERE r.id = chain.ids[1]`;

/** The tenant's chain, root first, `self` marking the tenant's own row. */
export const ANCESTORS_SQL = `SELECT ${columns("a.")}, a.id = $1::uuid AS self
  FROM ${chainSql("$1::uuid")} chain, public.stratum_tenants a
 WHERE a.id = ANY(chain.ids) ORDER BY a.depth`;

/** As ANCESTORS_SQL from depth `$2`, `$3` rows. */
export const ANCESTORS_PAGE_SQL = `SELECT ${columns("a.")}, a.id = $1::uuid AS self
  FROM ${chainSql("$1::uuid")} chain, public.stratum_tenants a
 WHERE a.id = ANY(chain.ids) AND a.depth >= $2 ORDER BY a.depth LIMIT $3`;

/** Every descendant, depth-first (by path). */
export const DESCENDANTS_SQL = `SELECT ${COLUMNS} FROM ${subtreeSql("$1::uuid")} sub, public.stratum_tenants
 WHERE id = ANY(sub.ids) AND id <> $1::uuid ORDER BY path`;

/** As DESCENDANTS_SQL after path `$2` (text, or NULL for the first page), `$3` rows. */
export const DESCENDANTS_PAGE_SQL = `SELECT ${columns("d.")} FROM ${subtreeSql("$1::uuid")} sub, public.stratum_tenants d
 WHERE d.id = ANY(sub.ids) AND d.id <> $1::uuid AND ($2::text IS NULL OR d.path > $2::ltree) ORDER BY d.path LIMIT $3`;
