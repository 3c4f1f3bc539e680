/**
 * The descendants view across homes. An MSP's clients may live in the shared tables, in schemas
 * of their own, or in databases of their own; a `{ descendants: true }` read has to see the first
 * two, which share the MSP's database. For each tenant table it reads the UNION ALL of that table
 * in every home of the subtree (the shared table when any member lives there, each member
 * schema's table), in one statement.
 *
 * Nothing here decides what is visible: every branch of the union is a tenant table with its own
 * RLS policy, which in the descendants mode admits exactly the subtree's live tenants
 * (stratum_scope_tenants()). The union only decides where to look.
 *
 * Members in a database of their own are out of reach of one statement: the view refuses
 * (DESCENDANTS_OUT_OF_REACH) unless the caller said `{ descendants: "same-database" }`.
 */
import { ident } from "../../generators/sql/security.js";
import { StratumError } from "../core/errors.js";
import type { IsolationStrategyName } from "../core/types.js";
import type { TenantScope } from "./scope.js";

export interface SubtreeMember {
  id: string;
  slug: string;
  isolation_strategy: IsolationStrategyName;
  placement: string | null;
}

export interface TableColumns {
  table: string;
  columns: readonly string[];
}

/** What the adapter needs: per tenant table, the SQL source replacing it in a read. */
export interface DescendantSources {
  tableSources: ReadonlyMap<string, string>;
  unqualify: RegExp;
}

/** The schemas of the main database holding rows of `members` ("public" for the shared tables). */
function homesOf(members: readonly SubtreeMember[]): string[] {
  const homes = new Set<string>();
  for (const m of members) {
    if (m.isolation_strategy === "SHARED_RLS") homes.add("public");
    else if (m.isolation_strategy === "SCHEMA") homes.add(m.placement ?? m.slug);
  }
  return [...homes].sort();
}

/**
 * Builds the sources for a subtree rooted at a tenant of the main database, or undefined when the
 * subtree has one home (then the tenant's own scope already reads it). `sameDatabaseOnly` lets the
 * caller accept that members in their own databases are left out.
 */
export function descendantSources(
  root: SubtreeMember,
  members: readonly SubtreeMember[],
  tables: readonly TableColumns[],
  sameDatabaseOnly: boolean,
): DescendantSources | undefined {
  const elsewhere = members.filter((m) => m.isolation_strategy === "DATABASE" && m.id !== root.id);
  if (elsewhere.length > 0 && !sameDatabaseOnly) {
    throw new StratumError(
      "DESCENDANTS_OUT_OF_REACH",
      `${elsewhere.length} descendant(s) of tenant ${root.id} live in databases of their own (${elsewhere
        .slice(0, 5)
        .map((m) => m.slug)
        .join(", ")}${elsewhere.length > 5 ? ", …" : ""}); one statement cannot read them. Query them with prisma.$tenant(childId), ` +
        `or pass { descendants: "same-database" } to read the rest.`,
      { tenantId: root.id, outOfReach: elsewhere.map((m) => m.id) },
    );
  }
  if (root.isolation_strategy === "DATABASE") return undefined;
  const homes = homesOf(members);
  const own = root.isolation_strategy === "SCHEMA" ? (root.placement ?? root.slug) : "public";
  if (homes.length === 0 || (homes.length === 1 && homes[0] === own)) return undefined;
  const sources = new Map<string, string>();
  for (const { table, columns } of tables) {
    const list = columns.map(ident).join(", ");
    sources.set(table, `(${homes.map((h) => `SELECT ${list} FROM ${ident(h)}.${ident(table)}`).join(" UNION ALL ")})`);
  }
  const names = tables.map((t) => t.table.replace(/[^A-Za-z0-9_]/g, "")).join("|");
  return { tableSources: sources, unqualify: new RegExp(`"public"\\.("(?:${names})")`, "g") };
}

const READ = /^\s*(SELECT|WITH)\b/i;

/**
 * A Prisma read in a descendants scope, each tenant table replaced by the union of its homes.
 * Runs after `"public".` was removed from tenant tables, so the sources' own qualified names are
 * left as they are. Writes are never rewritten: they stay in the scope's own home.
 */
export function readAcrossHomes(sql: string, scope: Pick<TenantScope, "tableSources">): string {
  const sources = scope.tableSources;
  if (!sources || !READ.test(sql)) return sql;
  return sql.replace(/\b(FROM|JOIN)\s+"([A-Za-z0-9_]+)"(?!\s*\.)(\s+AS\s+"[^"]+")?/g, (match, keyword: string, table: string, alias?: string) => {
    const source = sources.get(table);
    if (!source) return match;
    return `${keyword} ${source}${alias ?? ` AS "${table}"`}`;
  });
}
