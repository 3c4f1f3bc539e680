/**
 * The tenant tables' DDL, read from the live `public` schema of the main database. Schema and
 * database tenants get exactly the tables the migrations produced there, so no second copy of
 * the schema can drift from the first. RLS and grants are added on top (defence in depth: even a
 * statement that names another tenant's schema finds no row the signed scope does not allow).
 */
import type pg from "pg";
import { ident, modelAuditSql, scopeFunctionsSql, sessionPrivilegesSql, tenantTableSql } from "../sql/security.js";
import { StratumError } from "../core/errors.js";

export interface TenantTable {
  table: string;
  tenantColumn: string;
  /** `/// @stratum.audit`: writes are audited by a row trigger (homes in the main database). */
  audited?: boolean;
  idColumn?: string;
}

interface ColumnRow {
  table_name: string;
  column_name: string;
  type: string;
  not_null: boolean;
  default_expr: string | null;
}

interface ConstraintRow {
  table_name: string;
  name: string;
  type: string;
  definition: string;
  foreign_table: string | null;
}

interface EnumRow {
  type_name: string;
  labels: string[];
}

/** The tenant tables of one schema, as the catalog describes them. */
export interface TableCatalog {
  columns: ColumnRow[];
  constraints: ConstraintRow[];
  indexes: Array<{ table_name: string; name: string; definition: string }>;
}

/**
 * Reads the tenant tables of `schema`. Must run inside a transaction: the search_path is pinned
 * (locally) so format_type and pg_get_*def qualify anything outside pg_catalog.
 */
export async function describeTables(client: pg.Client, schema: string, names: readonly string[]): Promise<TableCatalog> {
  const q = (sql: string) => client.query(sql, [names, schema]);
  await client.query("SET LOCAL search_path = pg_catalog");
  const columns = (
    await q(`SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
                    a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default_expr
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $2
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE c.relname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY c.relname, a.attnum`)
  ).rows as ColumnRow[];
  const constraints = (
    await q(`SELECT c.relname AS table_name, k.conname AS name, k.contype AS type, pg_get_constraintdef(k.oid) AS definition,
                    f.relname AS foreign_table
               FROM pg_constraint k
               JOIN pg_class c ON c.oid = k.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $2
               LEFT JOIN pg_class f ON f.oid = k.confrelid
              WHERE c.relname = ANY($1) AND k.contype IN ('p', 'u', 'c', 'f')
              ORDER BY k.contype = 'f', c.relname, k.conname`)
  ).rows as ConstraintRow[];
  const indexes = (
    await q(`SELECT c.relname AS table_name, ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
               FROM pg_index i
               JOIN pg_class c ON c.oid = i.indrelid
               JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $2
              WHERE c.relname = ANY($1)
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))`)
  ).rows as TableCatalog["indexes"];
  await client.query("RESET search_path");
  return { columns, constraints, indexes };
}

function columnSql(c: ColumnRow): string {
  const def = c.default_expr && !/nextval\(/.test(c.default_expr) ? ` DEFAULT ${c.default_expr}` : "";
  return `${ident(c.column_name)} ${c.type}${c.not_null ? " NOT NULL" : ""}${def}`;
}

function sequenceSql(table: string, c: ColumnRow, target: string): string[] {
  // Sequences stay per tenant home; identity-like columns get their own counter there.
  const t = ident(target);
  const seq = `${table}_${c.column_name}_seq`;
  return [
    `CREATE SEQUENCE IF NOT EXISTS ${t}.${ident(seq)} OWNED BY ${t}.${ident(table)}.${ident(c.column_name)}`,
    `ALTER TABLE ${t}.${ident(table)} ALTER COLUMN ${ident(c.column_name)} SET DEFAULT nextval('${target}.${seq}'::regclass)`,
  ];
}

function indexSql(definition: string, sourceSchema: string, target: string): string {
  return definition
    .replace(new RegExp(` ON ${sourceSchema === "public" ? "public" : ident(sourceSchema).replace(/"/g, '"?')}\\.`), ` ON ${ident(target)}.`)
    .replace(/^CREATE (UNIQUE )?INDEX /, "CREATE $1INDEX IF NOT EXISTS ");
}

function foreignKeySql(k: ConstraintRow, target: string): string {
  const definition = k.definition.replace(/REFERENCES ("?[A-Za-z0-9_]+"?\.)?("?)([A-Za-z0-9_]+)\2/, `REFERENCES ${ident(target)}.${ident(k.foreign_table!)}`);
  return `ALTER TABLE ${ident(target)}.${ident(k.table_name)} ADD CONSTRAINT ${ident(k.name)} ${definition}`;
}

/** Statements that create the tenant tables in `target` (a schema name), from the main database's public schema. */
export async function tenantTablesDdl(source: pg.Client, tables: readonly TenantTable[], target: string): Promise<string[]> {
  const names = tables.map((t) => t.table);
  const { columns, constraints, indexes } = await describeTables(source, "public", names);
  const statements: string[] = [];
  for (const table of names) {
    const cols = columns.filter((c) => c.table_name === table);
    if (cols.length === 0)
      throw new StratumError("MIGRATION_FAILED", `stratum: tenant table public.${table} does not exist; run the migrations first`, { table });
    const body = cols.map(columnSql);
    for (const k of constraints.filter((k) => k.table_name === table && k.type !== "f")) body.push(`CONSTRAINT ${ident(k.name)} ${k.definition}`);
    statements.push(`CREATE TABLE IF NOT EXISTS ${ident(target)}.${ident(table)} (\n  ${body.join(",\n  ")}\n)`);
    for (const c of cols.filter((c) => c.default_expr && /nextval\(/.test(c.default_expr))) statements.push(...sequenceSql(table, c, target));
  }
  // Unique indexes first: Prisma's uniques are indexes, and foreign keys need them.
  for (const index of indexes) statements.push(indexSql(index.definition, "public", target));
  for (const k of constraints.filter((k) => k.type === "f")) {
    if (k.foreign_table && names.includes(k.foreign_table)) statements.push(foreignKeySql(k, target)); // never into shared rows
  }
  return statements;
}

export interface SyncPlan {
  statements: string[];
  /** Differences a sync does not resolve by itself (type changes, columns the template dropped). */
  drift: string[];
}

/**
 * What brings a tenant home's tables level with the template (`public` of the main database):
 * missing tables, columns, constraints and indexes are added; anything else is reported, never
 * dropped or rewritten behind the operator's back.
 */
export function syncPlan(template: TableCatalog, home: TableCatalog, names: readonly string[], target: string): SyncPlan {
  const statements: string[] = [];
  const drift: string[] = [];
  const key = (table: string, name: string) => `${table}.${name}`;
  const homeColumns = new Map(home.columns.map((c) => [key(c.table_name, c.column_name), c]));
  const homeConstraints = new Set(home.constraints.map((k) => key(k.table_name, k.name)));
  const homeIndexes = new Set(home.indexes.map((i) => key(i.table_name, i.name)));
  const homeTables = new Set(home.columns.map((c) => c.table_name));
  for (const table of names) {
    const cols = template.columns.filter((c) => c.table_name === table);
    if (!homeTables.has(table)) {
      const body = [
        ...cols.map(columnSql),
        ...template.constraints.filter((k) => k.table_name === table && k.type !== "f").map((k) => `CONSTRAINT ${ident(k.name)} ${k.definition}`),
      ];
      statements.push(`CREATE TABLE ${ident(target)}.${ident(table)} (\n  ${body.join(",\n  ")}\n)`);
      for (const c of cols.filter((c) => c.default_expr && /nextval\(/.test(c.default_expr))) statements.push(...sequenceSql(table, c, target));
      continue;
    }
    for (const c of cols) {
      const existing = homeColumns.get(key(table, c.column_name));
      if (!existing) statements.push(`ALTER TABLE ${ident(target)}.${ident(table)} ADD COLUMN ${columnSql(c)}`);
      else if (existing.type !== c.type) drift.push(`${target}.${table}.${c.column_name} is ${existing.type}, the template has ${c.type}`);
      else if (existing.not_null !== c.not_null) {
        statements.push(`ALTER TABLE ${ident(target)}.${ident(table)} ALTER COLUMN ${ident(c.column_name)} ${c.not_null ? "SET" : "DROP"} NOT NULL`);
      }
    }
    const templateColumns = new Set(cols.map((c) => c.column_name));
    for (const c of home.columns.filter((c) => c.table_name === table && !templateColumns.has(c.column_name))) {
      drift.push(`${target}.${table}.${c.column_name} no longer exists in the template (drop it by hand once its data is not needed)`);
    }
    for (const k of template.constraints.filter((k) => k.table_name === table && k.type !== "f" && !homeConstraints.has(key(table, k.name)))) {
      statements.push(`ALTER TABLE ${ident(target)}.${ident(table)} ADD CONSTRAINT ${ident(k.name)} ${k.definition}`);
    }
  }
  for (const index of template.indexes.filter((i) => !homeIndexes.has(key(i.table_name, i.name)))) {
    statements.push(indexSql(index.definition, "public", target));
  }
  for (const k of template.constraints.filter((k) => k.type === "f" && !homeConstraints.has(key(k.table_name, k.name)))) {
    if (k.foreign_table && names.includes(k.foreign_table)) statements.push(foreignKeySql(k, target));
  }
  return { statements, drift };
}

/** Enum types the tenant tables use, so a separate database can recreate them first. */
export async function tenantEnumsDdl(source: pg.Client, tables: readonly TenantTable[]): Promise<string[]> {
  const rows = (
    await source.query(
      `SELECT DISTINCT format('%I.%I', tn.nspname, ty.typname) AS type_name,
              array(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = ty.oid ORDER BY e.enumsortorder)::text[] AS labels
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
         JOIN pg_type ty ON ty.oid = a.atttypid AND ty.typtype = 'e'
         JOIN pg_namespace tn ON tn.oid = ty.typnamespace
        WHERE c.relname = ANY($1)`,
      [tables.map((t) => t.table)],
    )
  ).rows as EnumRow[];
  return rows.map(
    (r) =>
      `DO $$ BEGIN CREATE TYPE ${r.type_name} AS ENUM (${r.labels.map((l) => `'${l.replace(/'/g, "''")}'`).join(", ")}); EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  );
}

/**
 * RLS, grants and schema usage for the tenant tables in `target`. `modelAudit` adds the audit
 * triggers of audited models; only homes in the main database can have them, since the audit log
 * lives there (a tenant database's writes are not model-audited).
 */
export function tenantSecurityDdl(tables: readonly TenantTable[], target: string, appRole: string, modelAudit = false, homeOf?: string): string[] {
  return [
    `GRANT USAGE ON SCHEMA ${ident(target)} TO ${ident(appRole)}`,
    ...tables.map((t) => tenantTableSql(t.table, t.tenantColumn, appRole, target, false, homeOf?.toLowerCase())),
    ...(homeOf ? tables.map((t) => homeCheckSql(t, target, homeOf)) : []),
    ...tables.filter((t) => modelAudit && t.audited).map((t) => modelAuditSql(t.table, t.tenantColumn, t.idColumn ?? "id", target)),
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${ident(target)} TO ${ident(appRole)}`,
  ];
}

/** Name of the per-home CHECK that admits only the home's own tenant. */
export const HOME_CHECK = "stratum_home_tenant";

/**
 * A home of one tenant accepts only that tenant's rows, whoever writes: RLS alone lets a tenant
 * insert its own rows into another home's tables by naming them. Re-created on every sync (so
 * tables added later get it) as NOT VALID, which skips re-scanning rows each time; every row
 * written since it exists was checked, and a fresh home starts empty.
 */
function homeCheckSql(t: TenantTable, target: string, tenantId: string): string {
  if (!/^[0-9a-f-]{36}$/i.test(tenantId))
    throw new StratumError("INVALID_TENANT_ID", `stratum: ${JSON.stringify(tenantId)} is not a tenant id (a uuid)`, { tenantId });
  const table = `${ident(target)}.${ident(t.table)}`;
  return `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${HOME_CHECK}, ADD CONSTRAINT ${HOME_CHECK} CHECK (${ident(t.tenantColumn)} = '${tenantId.toLowerCase()}') NOT VALID`;
}

/**
 * What a tenant database needs besides the tables: the key table, the scope token machinery, and
 * the tenant's own tokens (signed once the key is installed; see `tenantScopeKeyDdl`). Idempotent,
 * so the migration fan-out re-applies it to databases made by older versions.
 */
export function tenantDatabaseBaseDdl(appRole: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS public.stratum_scope_keys (id integer PRIMARY KEY DEFAULT 1, key text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    `REVOKE ALL ON public.stratum_scope_keys FROM PUBLIC`,
    scopeFunctionsSql(false),
    `GRANT USAGE ON SCHEMA public TO ${ident(appRole)}`,
    sessionPrivilegesSql(appRole),
  ];
}

/** Signs the tenant's tokens in its own database (the key must be installed there first). */
export const REGISTER_TENANT_TOKENS_SQL = "SELECT public.stratum_scope_register($1::uuid)";

/**
 * Makes a tenant database's scope keys those of the main database (current and, during a
 * rotation, previous), then signs the tenant's tokens under them. Rows already equal are left
 * alone, so an unchanged key re-signs nothing.
 */
export async function copyScopeKeys(main: pg.Client, home: pg.Client, tenantId: string): Promise<void> {
  const keys = (await main.query<{ id: number; key: string }>("SELECT id, key FROM public.stratum_scope_keys ORDER BY id")).rows;
  if (keys.length === 0) {
    throw new StratumError("UNSAFE_CONNECTION", "No scope key is installed in the main database; run `npx stratum-prisma migrate` with STRATUM_SCOPE_KEY.");
  }
  await home.query("DELETE FROM public.stratum_scope_keys WHERE NOT (id = ANY($1::int[]))", [keys.map((k) => k.id)]);
  for (const k of keys) {
    await home.query(
      `INSERT INTO public.stratum_scope_keys (id, key) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key
        WHERE stratum_scope_keys.key IS DISTINCT FROM EXCLUDED.key`,
      [k.id, k.key],
    );
  }
  await home.query(REGISTER_TENANT_TOKENS_SQL, [tenantId]);
}
