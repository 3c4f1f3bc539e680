/**
 * The names stratum gives to places in PostgreSQL: tenant homes and the search_path its scoped
 * statements run under.
 *
 * Homes are named from the tenant id, never from anything a tenant or operator chose (the slug):
 * a chosen name can equal a schema or database that already exists, and DDL on it (or the
 * clean-up of a failed create) would then act on someone else's objects. Opaque names also keep
 * customers' names out of `pg_namespace` and `pg_database`, which every role can read. The name
 * is recorded in the tenant's `placement`, which is all routing reads, so renaming a tenant never
 * touches DDL.
 */
import { ident } from "../sql/security.js";
import { StratumError } from "../core/errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function hexOf(tenantId: string): string {
  if (!UUID.test(tenantId)) throw new StratumError("INVALID_TENANT_ID", `Tenant id ${JSON.stringify(tenantId)} is not a uuid; homes are named from it.`);
  return tenantId.replace(/-/g, "").toLowerCase();
}

/** Schema of a SCHEMA tenant's home: `t_<32 hex of the tenant id>`. */
export function homeSchemaName(tenantId: string): string {
  return `t_${hexOf(tenantId)}`;
}

/** Database of a DATABASE tenant's home: `stratum_t_<32 hex of the tenant id>` (43 characters). */
export function homeDatabaseName(tenantId: string): string {
  return `stratum_t_${hexOf(tenantId)}`;
}

/**
 * Scoped search_path outside SCHEMA homes. pg_catalog comes first so no relation, type, function
 * or operator elsewhere can stand in for a built-in; pg_temp is listed last because PostgreSQL
 * searches it FIRST for relations and types whenever it is not listed, which would let a
 * temporary table left on a pooled connection shadow a real one.
 */
export const SHARED_SEARCH_PATH = "pg_catalog, public, pg_temp";

/**
 * Scoped search_path of a SCHEMA home: the home alone between pg_catalog and pg_temp, so
 * Prisma's unqualified tenant tables resolve there and never fall back to the shared tables.
 */
export function schemaSearchPath(schema: string): string {
  return `pg_catalog, ${ident(schema)}, pg_temp`;
}

/** The home schema a SCHEMA scope's search_path names (data-source labels use it). */
export function schemaOfSearchPath(searchPath: string): string {
  return /"([^"]+)"/.exec(searchPath)?.[1] ?? searchPath;
}
