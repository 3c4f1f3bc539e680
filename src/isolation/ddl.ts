/**
 * The tenant tables' DDL, read from the live `public` schema of the main database. Schema and
 * database tenants get exactly the tables the migrations produced there, so no second copy of
 * the schema can drift from the first. RLS and grants are added on top (defence in depth: even a
 * statement that names another tenant's schema finds no row the signed scope does not allow).
 */
import type pg from "pg";
import { ident, scopeFunctionsSql, tenantTableSql } from "../../generators/sql/security.js";

export interface TenantTable {
  table: string;
  tenantColumn: string;
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

/** Statements that create the tenant tables in `target` (a schema name). */
export async function tenantTablesDdl(source: pg.Client, tables: readonly TenantTable[], target: string): Promise<string[]> {
  const names = tables.map((t) => t.table);
  const q = (sql: string) => source.query(sql, [names]);
  // Pin the search_path so format_type and pg_get_*def qualify anything outside pg_catalog.
  await source.query("SET LOCAL search_path = pg_catalog");
  const columns = (
    await q(`SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
                    a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default_expr
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE c.relname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY c.relname, a.attnum`)
  ).rows as ColumnRow[];
  const constraints = (
    await q(`SELECT c.relname AS table_name, k.conname AS name, k.contype AS type, pg_get_constraintdef(k.oid) AS definition,
                    f.relname AS foreign_table
               FROM pg_constraint k
               JOIN pg_class c ON c.oid = k.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
               LEFT JOIN pg_class f ON f.oid = k.confrelid
              WHERE c.relname = ANY($1) AND k.contype IN ('p', 'u', 'c', 'f')
              ORDER BY k.contype = 'f', c.relname, k.conname`)
  ).rows as ConstraintRow[];
  const indexes = (
    await q(`SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
               FROM pg_index i
               JOIN pg_class c ON c.oid = i.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
              WHERE c.relname = ANY($1)
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))`)
  ).rows as Array<{ name: string; definition: string }>;
  await source.query("RESET search_path");

  const t = ident(target);
  const statements: string[] = [];
  for (const table of names) {
    const cols = columns.filter((c) => c.table_name === table);
    if (cols.length === 0) throw new Error(`stratum: tenant table public.${table} does not exist; run the migrations first`);
    const body = cols.map((c) => {
      const def = c.default_expr && !/nextval\(/.test(c.default_expr) ? ` DEFAULT ${c.default_expr}` : "";
      return `${ident(c.column_name)} ${c.type}${c.not_null ? " NOT NULL" : ""}${def}`;
    });
    for (const k of constraints.filter((k) => k.table_name === table && k.type !== "f")) {
      body.push(`CONSTRAINT ${ident(k.name)} ${k.definition}`);
    }
    statements.push(`CREATE TABLE IF NOT EXISTS ${t}.${ident(table)} (\n  ${body.join(",\n  ")}\n)`);
    for (const c of cols.filter((c) => c.default_expr && /nextval\(/.test(c.default_expr))) {
      // Sequences stay per tenant home; identity-like columns get their own counter there.
      const seq = `${table}_${c.column_name}_seq`;
      statements.push(`CREATE SEQUENCE IF NOT EXISTS ${t}.${ident(seq)} OWNED BY ${t}.${ident(table)}.${ident(c.column_name)}`);
      statements.push(`ALTER TABLE ${t}.${ident(table)} ALTER COLUMN ${ident(c.column_name)} SET DEFAULT nextval('${target}.${seq}'::regclass)`);
    }
  }
  // Unique indexes first: Prisma's uniques are indexes, and foreign keys need them.
  for (const index of indexes) {
    statements.push(index.definition.replace(/ ON public\./, ` ON ${t}.`).replace(/^CREATE (UNIQUE )?INDEX /, "CREATE $1INDEX IF NOT EXISTS "));
  }
  for (const k of constraints.filter((k) => k.type === "f")) {
    if (!k.foreign_table || !names.includes(k.foreign_table)) continue; // tenant data never points at shared rows
    const definition = k.definition.replace(/REFERENCES (public\.)?("?)([A-Za-z0-9_]+)\2/, `REFERENCES ${t}.${ident(k.foreign_table)}`);
    statements.push(`ALTER TABLE ${t}.${ident(k.table_name)} ADD CONSTRAINT ${ident(k.name)} ${definition}`);
  }
  return statements;
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

/** RLS, grants and schema usage for the tenant tables in `target`. */
export function tenantSecurityDdl(tables: readonly TenantTable[], target: string, appRole: string): string[] {
  return [
    `GRANT USAGE ON SCHEMA ${ident(target)} TO ${ident(appRole)}`,
    ...tables.map((t) => tenantTableSql(t.table, t.tenantColumn, appRole, target)),
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${ident(target)} TO ${ident(appRole)}`,
  ];
}

/** What a fresh tenant database needs besides the tables: the scope functions and the key. */
export function tenantDatabaseBaseDdl(appRole: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS public.stratum_scope_keys (id integer PRIMARY KEY DEFAULT 1, key text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    `REVOKE ALL ON public.stratum_scope_keys FROM PUBLIC`,
    scopeFunctionsSql(false),
    `GRANT USAGE ON SCHEMA public TO ${ident(appRole)}`,
  ];
}
