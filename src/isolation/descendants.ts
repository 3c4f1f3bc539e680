/**
 * The descendants view across homes. An MSP's clients may live in the shared tables, in schemas
 * of their own, or in databases of their own; a `{ descendants: true }` read has to see the first
 * two, which share the MSP's database. Each tenant table is read through its subtree view,
 * `stratum_d_<table>`, in every home of the subtree (the shared tables when any member lives
 * there, each member schema).
 *
 * Nothing here decides what is visible: the tables' own policy admits the scope's tenant alone,
 * and each subtree view (src/sql/security.ts) admits exactly the subtree's live tenants
 * (stratum_scope_tenants()). The rewrite only decides where to look.
 *
 * Locks. A statement locks every relation it reads (view, table, its indexes): one UNION ALL over
 * 1,000 homes took ≈ 5,000 locks, and a few of them in flight overflowed the server's lock table
 * (`out of shared memory`, for every session). A subtree with more homes than `homeBatchSize()`
 * is therefore read in batches, one statement per batch (descendants-batches.ts), so a statement
 * holds at most batch × (2 + indexes) locks whatever the size of the subtree.
 *
 * Members in a database of their own are out of reach of one statement: the view refuses
 * (DESCENDANTS_OUT_OF_REACH) unless the caller said `{ descendants: "same-database" }`.
 */
import { ident, subtreeViewName } from "../sql/security.js";
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
  /**
   * Set when the subtree has more homes than one statement may visit: per batch of homes, the
   * sources of its statement. `tableSources` then reads every home (one statement, the locks of
   * all of them); only the operations descendants-batches.ts serves use the batches.
   */
  homeBatches?: ReadonlyArray<ReadonlyMap<string, string>>;
}

/** A scope as the router builds it for a descendants view (TenantScope plus the sources). */
export type DescendantScope = TenantScope & Partial<DescendantSources>;

/**
 * Homes per statement. 50 homes of the test models lock ≈ 250 relations; with the default lock
 * table (64 × max_connections slots) that leaves room for every connection of a pool of 16 to
 * run one such statement at once, beside the rest of the server's work.
 */
export const DEFAULT_HOME_BATCH = 50;
let batchSize = DEFAULT_HOME_BATCH;

/** Homes per statement of a batched descendants read (tests set a small one to exercise batching). */
export function setHomeBatchSize(size: number): void {
  if (!Number.isInteger(size) || size < 1)
    throw new StratumError("VALIDATION_FAILED", `The descendants home batch size must be a positive integer, not ${size}.`);
  batchSize = size;
}

export function homeBatchSize(): number {
  return batchSize;
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
  // A tenant database holds its tenant alone: the tables' own policy already reads all of it.
  if (root.isolation_strategy === "DATABASE") return undefined;
  const homes = homesOf(members);
  if (homes.length === 0) return undefined;
  const names = tables.map((t) => t.table.replace(/[^A-Za-z0-9_]/g, "")).join("|");
  const unqualify = new RegExp(`"public"\\.("(?:${names})")`, "g");
  const tableSources = sourcesFor(homes, tables);
  if (homes.length <= batchSize) return { tableSources, unqualify };
  const homeBatches: Array<ReadonlyMap<string, string>> = [];
  for (let i = 0; i < homes.length; i += batchSize) homeBatches.push(sourcesFor(homes.slice(i, i + batchSize), tables));
  return { tableSources, unqualify, homeBatches };
}

/** Sources built over more than one home (a UNION ALL per table): see spansSeveralHomes. */
const severalHomes = new WeakSet<ReadonlyMap<string, string>>();

/**
 * True when `sources` read more than one home: the statements the adapter sends to its subtree
 * connections, whose plans cost tens of milliseconds per connection. One home's view is a small
 * statement, cheap to plan anywhere.
 */
export function spansSeveralHomes(sources: ReadonlyMap<string, string> | undefined): boolean {
  return sources !== undefined && severalHomes.has(sources);
}

/** Per tenant table, the subtree views of `homes`: the view itself for one home, else their UNION ALL. */
function sourcesFor(homes: readonly string[], tables: readonly TableColumns[]): Map<string, string> {
  const sources = new Map<string, string>();
  if (homes.length > 1) severalHomes.add(sources);
  for (const { table, columns } of tables) {
    const view = (h: string) => `${ident(h)}.${ident(subtreeViewName(table))}`;
    if (homes.length === 1) {
      sources.set(table, view(homes[0]!));
      continue;
    }
    const list = columns.map(ident).join(", ");
    sources.set(table, `(${homes.map((h) => `SELECT ${list} FROM ${view(h)}`).join(" UNION ALL ")})`);
  }
  return sources;
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
