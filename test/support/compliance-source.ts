/**
 * A TenantDataSource over a plain (superuser) pg connection, standing in for the isolation layer's
 * sources in the GDPR tests. One class covers the three strategies:
 *  - SHARED_RLS: shared tables, rows filtered by `tenantColumn = tenantId`;
 *  - SCHEMA:     the tenant's own schema, every row of its tables (`schema`, no tenantColumn);
 *  - DATABASE:   the tenant's own database, every row of its tables (a Db on it, no tenantColumn).
 */
import type { Db } from "../../src/core/db.js";
import type { Row, TenantDataSource } from "../../src/gdpr/index.js";

export interface SqlSourceOptions {
  name: string;
  db: Db;
  tenantId: string;
  /** Parents first. */
  tables: string[];
  schema?: string;
  /** Filter column for shared tables; omit when the whole table is the tenant's. */
  tenantColumn?: string;
}

const q = (s: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new Error(`bad identifier ${s}`);
  return `"${s}"`;
};

export function sqlTenantSource(o: SqlSourceOptions): TenantDataSource {
  const rel = (t: string) => (o.schema ? `${q(o.schema)}.${q(t)}` : q(t));
  const filter = (params: unknown[]) => {
    if (!o.tenantColumn) return "TRUE";
    params.push(o.tenantId);
    return `${q(o.tenantColumn)} = $${params.length}`;
  };
  const check = (t: string) => {
    if (!o.tables.includes(t)) throw new Error(`table ${t} is not in source ${o.name}`);
  };
  async function* page(table: string, extraSql: string, extraParams: unknown[], batchSize: number): AsyncGenerator<Row[]> {
    check(table);
    let last: string | null = null;
    for (;;) {
      const params: unknown[] = [...extraParams];
      const where = [filter(params), extraSql];
      if (last !== null) {
        params.push(last);
        where.push(`id > $${params.length}`);
      }
      const rows: Row[] = await o.db.query<Row>(`SELECT * FROM ${rel(table)} WHERE ${where.join(" AND ")} ORDER BY id LIMIT ${batchSize}`, params);
      if (rows.length > 0) yield rows;
      if (rows.length < batchSize) return;
      last = String(rows[rows.length - 1]!["id"]);
    }
  }
  return {
    name: o.name,
    listTables: async () => [...o.tables],
    streamRows: (table, batchSize) => page(table, "TRUE", [], batchSize),
    streamSubjectRows: (table, column, subjectId, batchSize) => page(table, `${q(column)} = $1`, [subjectId], batchSize),
    async deleteSubjectRows(table, column, subjectId) {
      check(table);
      const params: unknown[] = [subjectId];
      return o.db.execute(`DELETE FROM ${rel(table)} WHERE ${q(column)} = $1 AND ${filter(params)}`, params);
    },
    async deleteAll() {
      return o.db.transaction(async (tx) => {
        const out: Record<string, number> = {};
        for (const table of [...o.tables].reverse()) {
          const params: unknown[] = [];
          out[table] = await tx.execute(`DELETE FROM ${rel(table)} WHERE ${filter(params)}`, params);
        }
        return out;
      });
    },
    async counts() {
      const out: Record<string, number> = {};
      for (const table of o.tables) {
        const params: unknown[] = [];
        const [r] = await o.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${rel(table)} WHERE ${filter(params)}`, params);
        out[table] = r?.n ?? 0;
      }
      return out;
    },
  };
}
