/**
 * A tenant's home: the tables that hold its rows under one strategy, reached through an owner
 * connection with the tenant's signed scope set for each transaction. Moves and GDPR purges read
 * and write homes wholesale; ordinary queries never come here.
 */
import type pg from "pg";
import { SCOPE_SETTING } from "../sql/protocol.js";
import { ident } from "../sql/security.js";
import { StratumError } from "../core/errors.js";
import type { IsolationStrategyName } from "../core/types.js";
import type { AdminAccess } from "./strategy.js";

export interface HomeAddress {
  strategy: IsolationStrategyName;
  /** Schema name for SCHEMA, `<server>/<database>` for DATABASE, null for SHARED_RLS. */
  placement: string | null;
}

export interface TenantTableRef {
  table: string;
  tenantColumn: string;
}

export interface Home {
  address: HomeAddress;
  client: pg.Client;
  /** The schema holding the tenant tables in this home's database. */
  schema: string;
  qualified(table: string): string;
  /** BEGIN and set the tenant's scope for the transaction. */
  begin(token: string): Promise<void>;
  close(): Promise<void>;
}

export async function openHome(admin: AdminAccess, address: HomeAddress): Promise<Home> {
  const client = address.strategy === "DATABASE" ? await admin.database(address.placement!) : await admin.main();
  const schema = address.strategy === "SCHEMA" ? address.placement! : "public";
  return {
    address,
    client,
    schema,
    qualified: (table) => `${ident(schema)}.${ident(table)}`,
    async begin(token) {
      await client.query("BEGIN");
      await client.query(`SELECT pg_catalog.set_config('${SCOPE_SETTING}', $1, true)`, [token]);
    },
    close: () => client.end().catch(() => undefined),
  };
}

/** Row counts of the tenant in each table of a home (inside the caller's transaction). */
export async function countRows(home: Home, tables: readonly TenantTableRef[], tenantId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const { rows } = await home.client.query(`SELECT count(*)::int AS n FROM ${home.qualified(t.table)} WHERE ${ident(t.tenantColumn)} = $1::uuid`, [tenantId]);
    counts[t.table] = (rows[0] as { n: number }).n;
  }
  return counts;
}

/**
 * Tables ordered so that referenced tables come before the tables that reference them (insert
 * order); reverse it to delete. Reads the foreign keys of the main database's public schema.
 */
export async function dependencyOrder(main: pg.Client, tables: readonly TenantTableRef[]): Promise<TenantTableRef[]> {
  const names = tables.map((t) => t.table);
  const { rows } = await main.query(
    `SELECT c.relname AS child, p.relname AS parent
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       JOIN pg_class p ON p.oid = k.confrelid
      WHERE k.contype = 'f' AND c.relname = ANY($1) AND p.relname = ANY($1) AND c.relname <> p.relname`,
    [names],
  );
  const edges = rows as Array<{ child: string; parent: string }>;
  const ordered: TenantTableRef[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    const next = tables.find((t) => !placed.has(t.table) && edges.every((e) => e.child !== t.table || placed.has(e.parent)));
    if (!next)
      throw new StratumError(
        "VALIDATION_FAILED",
        `stratum: foreign keys between tenant tables form a cycle (${names.join(", ")}); a tenant home cannot be built in order.`,
        { tables: names },
      );
    ordered.push(next);
    placed.add(next.table);
  }
  return ordered;
}
