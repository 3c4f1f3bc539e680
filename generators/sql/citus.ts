/**
 * The optional Citus distribution script (`generator stratum { citus = true }` writes it to
 * `<output>/citus.sql`). Not a Prisma migration: it calls Citus functions a plain PostgreSQL
 * does not have, so it is run by hand on the coordinator, as the owner, after the security
 * migration. Every statement is checked against Citus's documentation and source in
 * docs/scale.md#citus, which also says what is verified and what is not: Citus cannot run here.
 *
 * What it does, in order (each step needs the one before):
 *  1. Policies without subqueries. Citus refuses a policy holding a subquery on a distributed or
 *     reference table ("Subqueries are not supported in policies on distributed tables", checked
 *     when a table is distributed and on CREATE POLICY), and stratum's policies read the scope
 *     through `(SELECT … FROM stratum_scope_current)`. The same lookups move into SQL functions,
 *     which are not subqueries in the stored policy, and are propagated to the workers.
 *  2. The descendants view is dropped: its policy aggregates the subtree in a subquery.
 *     `$tenant(id, { descendants: true })` then fails loudly instead of reading part of a tree.
 *  3. Global models (stratum's own tables and `@stratum.global` ones) become reference tables,
 *     copied to every node: the scope tables must be where the policies run.
 *  4. Tenant tables become distributed by their tenant column, co-located with the first one,
 *     referenced tables first (Citus needs a foreign key's target distributed before it).
 *  5. SCHEMA tenants: schema-based sharding for the schemas that exist, after the same policy
 *     rewrite inside each.
 */
import { SCOPE_TOKEN_TABLE, ident, subtreeViewName } from "../../src/sql/security.js";

/** The scope tables carry no policy (only the owner reads them): nothing to rewrite there. */
const UNPOLICED = new Set(["stratum_scope_keys", SCOPE_TOKEN_TABLE]);

export interface CitusTenantTable {
  table: string;
  tenantColumn: string;
  /** Tenant tables this one's foreign keys point at (distributed before it). */
  references: readonly string[];
}

export interface CitusSqlOptions {
  tenantTables: readonly CitusTenantTable[];
  /** stratum's own tables (admin-only policies) and the user's `@stratum.global` tables. */
  stratumTables: readonly string[];
  userGlobalTables: readonly string[];
}

/** The scope lookups of src/sql/security.ts, as functions a policy may call on Citus. */
const SCOPE_FUNCTIONS = `
CREATE OR REPLACE FUNCTION public.stratum_scope_tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS
$fn$ SELECT v.tenant_id FROM public.stratum_scope_current v WHERE v.mode <> 'a' $fn$;
CREATE OR REPLACE FUNCTION public.stratum_scope_is_admin() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS
$fn$ SELECT EXISTS (SELECT 1 FROM public.stratum_scope_current v WHERE v.mode = 'a') $fn$;
GRANT EXECUTE ON FUNCTION public.stratum_scope_tenant() TO PUBLIC;
GRANT EXECUTE ON FUNCTION public.stratum_scope_is_admin() TO PUBLIC;
SELECT create_distributed_function('public.stratum_scope_tenant()');
SELECT create_distributed_function('public.stratum_scope_is_admin()');
SELECT create_distributed_function('public.stratum_scope_in_shared_home()');
`;

function isolationPolicy(t: string, col: string): string {
  return `DROP POLICY IF EXISTS stratum_tenant_isolation ON ${t};
CREATE POLICY stratum_tenant_isolation ON ${t} AS PERMISSIVE FOR ALL TO PUBLIC
  USING (${col} = public.stratum_scope_tenant())
  WITH CHECK (${col} = public.stratum_scope_tenant());
DROP POLICY IF EXISTS stratum_subtree ON ${t};`;
}

function sharedTenantTableSql({ table, tenantColumn }: CitusTenantTable): string {
  const t = `public.${ident(table)}`;
  return `${isolationPolicy(t, ident(tenantColumn))}
DROP VIEW IF EXISTS public.${ident(subtreeViewName(table))};
DROP POLICY IF EXISTS stratum_shared_home ON ${t};
CREATE POLICY stratum_shared_home ON ${t} AS RESTRICTIVE FOR INSERT TO PUBLIC
  WITH CHECK (public.stratum_scope_in_shared_home());
`;
}

function adminOnlySql(table: string): string {
  const t = `public.${ident(table)}`;
  return `DROP POLICY IF EXISTS stratum_admin_only ON ${t};
CREATE POLICY stratum_admin_only ON ${t} AS PERMISSIVE FOR ALL TO PUBLIC
  USING (public.stratum_scope_is_admin())
  WITH CHECK (public.stratum_scope_is_admin());
`;
}

/** Referenced tables first; ties (and cycles, which Citus refuses anyway) by name. */
export function distributionOrder(tables: readonly CitusTenantTable[]): string[] {
  const byName = new Map(tables.map((t) => [t.table, t]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const order: string[] = [];
  const visit = (name: string): void => {
    if (done.has(name) || visiting.has(name) || !byName.has(name)) return;
    visiting.add(name);
    for (const dep of [...byName.get(name)!.references].sort()) visit(dep);
    visiting.delete(name);
    done.add(name);
    order.push(name);
  };
  for (const name of [...byName.keys()].sort()) visit(name);
  return order;
}

function distributeSql(tables: readonly CitusTenantTable[]): string {
  const order = distributionOrder(tables);
  const columnOf = new Map(tables.map((t) => [t.table, t.tenantColumn]));
  const first = order[0];
  return order
    .map((table) => {
      const name = `public.${ident(table)}`;
      const colocate = table === first ? "" : `, colocate_with => 'public.${ident(first!)}'`;
      return `SELECT create_distributed_table('${name}', '${columnOf.get(table)}'${colocate});`;
    })
    .join("\n");
}

/**
 * Existing SCHEMA homes: the same policy rewrite in each, then one distributed schema per tenant
 * (Citus 12's schema-based sharding: every table in it one shard, co-located, moved as a unit).
 */
function schemaHomesSql(tables: readonly CitusTenantTable[]): string {
  const perTable = tables
    .map(({ table, tenantColumn }) => {
      const t = `'${table}'`;
      const col = `'${tenantColumn}'`;
      return [
        `    EXECUTE format('DROP POLICY IF EXISTS stratum_subtree ON %I.%I', home.placement, ${t});`,
        `    EXECUTE format('DROP VIEW IF EXISTS %I.%I', home.placement, '${subtreeViewName(table)}');`,
        `    EXECUTE format('DROP POLICY IF EXISTS stratum_tenant_isolation ON %I.%I', home.placement, ${t});`,
        `    EXECUTE format('CREATE POLICY stratum_tenant_isolation ON %I.%I AS PERMISSIVE FOR ALL TO PUBLIC USING (%I = public.stratum_scope_tenant()) WITH CHECK (%I = public.stratum_scope_tenant())', home.placement, ${t}, ${col}, ${col});`,
      ].join("\n");
    })
    .join("\n");
  return `DO $citus$
DECLARE home record;
BEGIN
  FOR home IN SELECT placement FROM public.stratum_tenants
               WHERE isolation_strategy = 'SCHEMA' AND placement IS NOT NULL ORDER BY placement LOOP
${perTable}
    PERFORM citus_schema_distribute(home.placement::regnamespace);
  END LOOP;
END
$citus$;
`;
}

export function citusSql(options: CitusSqlOptions): string {
  const globals = [...options.stratumTables, ...options.userGlobalTables];
  const parts = [
    "-- Generated by stratum-prisma (generator stratum, citus = true). Not a Prisma migration:",
    "-- run it once, by hand, on the Citus coordinator as the tables' owner, after stratum's",
    "-- security migration, before the app connects. Requires Citus 12 or later (schema-based",
    "-- sharding). What is verified and what is not: docs/scale.md#citus.",
    "-- The scoped driver sends its scope with set_config(), which Citus does not forward to",
    "-- worker connections: until it sends SET LOCAL under citus.propagate_set_commands = 'local',",
    "-- scoped statements that reach a worker see no rows (fail closed). See docs/scale.md#citus.",
    "BEGIN;",
    "-- 1. Policies without subqueries (Citus refuses subqueries in policies of distributed tables).",
    SCOPE_FUNCTIONS.trim(),
    ...options.stratumTables.filter((t) => !UNPOLICED.has(t)).map(adminOnlySql),
    "-- 2. Tenant tables: isolation and shared-home policies as function calls; the descendants view goes.",
    ...options.tenantTables.map(sharedTenantTableSql),
    "-- Triggers (the tenant tree's, model audit) on distributed and reference tables: Citus refuses",
    "-- them unless citus.enable_unsafe_triggers is on, here and for the sessions that fire them.",
    "SET LOCAL citus.enable_unsafe_triggers = on;",
    `DO $citus$ BEGIN EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database()); END $citus$;`,
    "-- 3. Global models: reference tables, a copy on every node.",
    ...globals.map((t) => `SELECT create_reference_table('public.${ident(t)}');`),
    "-- 4. Tenant tables: distributed by tenant, co-located, referenced tables first.",
    distributeSql(options.tenantTables),
    "COMMIT;",
    "-- 5. SCHEMA tenants: schema-based sharding. New tenant schemas are distributed when created.",
    `DO $citus$ BEGIN EXECUTE format('ALTER DATABASE %I SET citus.enable_schema_based_sharding = on', current_database()); END $citus$;`,
    schemaHomesSql(options.tenantTables),
  ];
  return `${parts.join("\n").trim()}\n`;
}
