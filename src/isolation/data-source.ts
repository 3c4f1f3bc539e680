/**
 * GDPR's `TenantDataSource`s (src/gdpr/source.ts) over the isolation layer: one per place a
 * tenant's rows can live, each bound to one tenant when it is built.
 *
 *  - every tenant gets a "shared" source: its rows in the shared RLS tables (its home when it is
 *    SHARED_RLS; for the others, rows an interrupted move may have left behind);
 *  - a SCHEMA tenant also gets `schema:<name>`, a DATABASE tenant `database:<server>/<db>`.
 *
 * Every statement runs on the app client under the tenant's signed scope (`runtime.scopedDb`), so
 * RLS applies exactly as for the tenant's own queries, the search_path points at its schema and
 * the adapter routes DATABASE tenants to their database. Each statement also filters on the tenant
 * column; nothing here can reach another tenant's rows. The scope is built from the strategy
 * directly rather than through `runtime.tenantDb`, which refuses suspended and archived tenants:
 * a purge suspends the tenant before it deletes, and an archived tenant must still be exportable.
 *
 * Homes: `deleteAll` only deletes rows (its counts are what the tombstone records). The tenant's
 * own schema or database is removed by `dropHome()` once the purge has committed (the extension's
 * `purgeTenant` calls it), so a purge that fails half-way leaves a home the re-run can still find.
 *
 * Exported rows carry database column names; encrypted fields are opened when a cipher is given
 * (an Art. 20 export must be readable). Tables are listed parents first, from the relation
 * metadata, so deletes run children first.
 */
import { z } from "zod";
import { StratumError } from "../core/errors.js";
import type { StratumModel, StratumModels } from "../core/models.js";
import type { Db } from "../core/db.js";
import type { IsolationStrategyName } from "../core/types.js";
import { decryptFields, type EncryptedModelMeta, type FieldCipher } from "../crypto/index.js";
import type { Row, TenantDataSource } from "../gdpr/source.js";
import { schemaOfSearchPath } from "./names.js";
import type { TenantScope } from "./scope.js";
import type { IsolationStrategy, ProvisionContext, TenantRoute } from "./strategy.js";

/** A source that also knows its strategy and can remove the tenant's own home. */
export interface StratumDataSource extends TenantDataSource {
  readonly strategy: IsolationStrategyName;
  /** Removes the tenant's own schema or database (no-op for shared tables); the name removed, or null. */
  dropHome(): Promise<string | null>;
}

/** The parts of the extension runtime the sources use. */
export interface DataSourceRuntime {
  models: StratumModels;
  db: Db;
  cipher: FieldCipher | undefined;
  strategies: Record<IsolationStrategyName, IsolationStrategy>;
  sign(tenantId: string, mode: "s" | "d" | "a"): string;
  scopedDb(scope: TenantScope): Db;
  provisionContext(server?: string): ProvisionContext;
  /** The app connection's safety check (scoped work waits for it). */
  ready?(): Promise<void>;
}

interface TableInfo {
  model: StratumModel;
  table: string;
  tenantColumn: string;
  /** Primary-key columns (keyset order). */
  keys: string[];
  /** Column-named metadata for decryptFields (raw rows carry column names). */
  crypt: EncryptedModelMeta & { tenantField: string };
  columnTypes: Map<string, string | undefined>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const q = (name: string): string => {
  if (!IDENT.test(name)) throw new StratumError("VALIDATION_FAILED", `Unsafe SQL identifier ${JSON.stringify(name)}.`);
  return `"${name}"`;
};
const UUID = z.uuid();

/** Tenant tables, parents (referenced) before children (referencing), ties by table name. */
export function tenantTablesInOrder(models: StratumModels): TableInfo[] {
  const infos = new Map<string, TableInfo>();
  for (const name of models.tenantModels) {
    const model = models.models[name]!;
    const col = (field: string) => model.fields.find((f) => f.name === field)?.column ?? field;
    const tenantColumn = model.tenantColumn ?? col(model.tenantField ?? "tenant_id");
    infos.set(name, {
      model,
      table: model.table,
      tenantColumn,
      keys: model.primaryKey.map(col),
      crypt: {
        name: model.name,
        table: model.table,
        primaryKey: model.primaryKey.map(col),
        fields: model.fields.map((f) => ({ ...f, name: f.column })),
        encryptedFields: model.encryptedFields.map(col),
        tenantField: tenantColumn,
      },
      columnTypes: new Map(model.fields.map((f) => [f.column, f.nativeType])),
    });
  }
  const ordered: TableInfo[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string) => {
    if (state.get(name) === "done" || state.get(name) === "visiting") return; // a cycle keeps its first order
    state.set(name, "visiting");
    const info = infos.get(name)!;
    const parents = info.model.fields
      .filter((f) => f.kind === "object" && f.relation && f.relation.fields.length > 0 && f.type !== name && infos.has(f.type))
      .map((f) => f.type)
      .sort();
    for (const parent of parents) visit(parent);
    state.set(name, "done");
    ordered.push(info);
  };
  for (const name of [...infos.keys()].sort((a, b) => infos.get(a)!.table.localeCompare(infos.get(b)!.table))) visit(name);
  return ordered;
}

/** Loads the tenant's route (uncached); refuses while an isolation move is unfinished unless told not to. */
async function loadRoute(db: Db, tenantId: string, refuseMoving: boolean): Promise<TenantRoute> {
  const [route] = await db.query<TenantRoute>(`SELECT id, slug, status, isolation_strategy, placement FROM public.stratum_tenants WHERE id = $1::uuid`, [
    tenantId,
  ]);
  if (!route) throw new StratumError("TENANT_NOT_FOUND", `Tenant ${tenantId} does not exist.`, { tenantId });
  if (!refuseMoving) return route;
  const [moving] = await db.query<{ id: string }>(`SELECT id FROM public.stratum_isolation_moves WHERE tenant_id = $1::uuid AND finished_at IS NULL LIMIT 1`, [
    tenantId,
  ]);
  if (moving) {
    throw new StratumError(
      "ISOLATION_MOVE_IN_PROGRESS",
      `Tenant ${tenantId} has an unfinished isolation move; resume or roll it back before exporting, purging or rotating its data.`,
      { tenantId, moveId: moving.id },
    );
  }
  return route;
}

/** One place a tenant's rows live, with a Db scoped to the tenant there. */
export interface TenantPlace {
  /** "shared", "schema:<name>" or "database:<server>/<db>". */
  name: string;
  strategy: IsolationStrategyName;
  db: Db;
}

/**
 * Every place the tenant's rows may live: the shared tables, and its own schema or database.
 * Status is not checked (suspended and archived tenants are reachable: purges, exports and key
 * rotation need them); an unfinished isolation move is refused unless `allowMoving`.
 */
export async function tenantPlaces(
  runtime: DataSourceRuntime,
  tenantId: string,
  options: { allowMoving?: boolean } = {},
): Promise<{ route: TenantRoute; places: TenantPlace[] }> {
  if (!UUID.safeParse(tenantId).success) throw new StratumError("VALIDATION_FAILED", `Tenant id ${JSON.stringify(tenantId)} is not a UUID.`);
  await runtime.ready?.();
  const route = await loadRoute(runtime.db, tenantId, !options.allowMoving);
  const scopeFor = (strategy: IsolationStrategyName): TenantScope =>
    runtime.strategies[strategy].scope(route, { mode: "s", readOnly: false }, (id, mode) => runtime.sign(id, mode));
  const places: TenantPlace[] = [{ name: "shared", strategy: "SHARED_RLS", db: runtime.scopedDb(scopeFor("SHARED_RLS")) }];
  if (route.isolation_strategy !== "SHARED_RLS") {
    const scope = scopeFor(route.isolation_strategy);
    const name = route.isolation_strategy === "SCHEMA" ? `schema:${schemaOfSearchPath(scope.searchPath)}` : `database:${route.placement ?? ""}`;
    places.push({ name, strategy: route.isolation_strategy, db: runtime.scopedDb(scope) });
  }
  return { route, places };
}

/** The sources of one tenant: "shared" plus its own schema or database. */
export async function tenantDataSources(runtime: DataSourceRuntime, tenantId: string): Promise<StratumDataSource[]> {
  const { route, places } = await tenantPlaces(runtime, tenantId);
  const tables = tenantTablesInOrder(runtime.models);
  return places.map((p) => sqlSource(runtime, route, p.strategy, p.name, p.db, tables));
}

function sqlSource(
  runtime: DataSourceRuntime,
  route: TenantRoute,
  strategy: IsolationStrategyName,
  name: string,
  db: Db,
  tables: readonly TableInfo[],
): StratumDataSource {
  const tenantId = route.id;
  const byTable = new Map(tables.map((t) => [t.table, t]));
  const info = (table: string): TableInfo => {
    const t = byTable.get(table);
    if (!t) throw new StratumError("VALIDATION_FAILED", `${table} is not a tenant table of source ${name}.`, { table });
    return t;
  };
  const open = (t: TableInfo, rows: Row[]): Row[] =>
    runtime.cipher && t.crypt.encryptedFields.length > 0 ? rows.map((r) => decryptFields(t.crypt, r, { cipher: runtime.cipher!, tenantId })) : rows;

  /** Keyset pages of the tenant's rows in `t`, optionally narrowed by one more column. */
  async function* page(t: TableInfo, batchSize: number, extra?: { column: string; value: string }): AsyncGenerator<Row[]> {
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      throw new StratumError("VALIDATION_FAILED", "batchSize must be an integer between 1 and 10000.");
    }
    if (t.keys.length === 0) throw new StratumError("VALIDATION_FAILED", `${t.table} has no primary key to page by.`);
    const keys = t.keys.map(q);
    let last: unknown[] | null = null;
    for (;;) {
      const params: unknown[] = [tenantId];
      const where = [`${q(t.tenantColumn)} = $1::uuid`];
      if (extra) {
        params.push(extra.value);
        where.push(`${q(extra.column)} = $${params.length}`);
      }
      if (last) {
        const marks = last.map((v) => {
          params.push(v);
          return `$${params.length}`;
        });
        where.push(`(${keys.join(", ")}) > (${marks.join(", ")})`);
      }
      const rows = await db.query<Row>(`SELECT * FROM ${q(t.table)} WHERE ${where.join(" AND ")} ORDER BY ${keys.join(", ")} LIMIT ${batchSize}`, params);
      if (rows.length > 0) yield open(t, rows);
      if (rows.length < batchSize) return;
      const end = rows[rows.length - 1]!;
      last = t.keys.map((k) => end[k]);
    }
  }

  /** False when the subject id cannot equal any value of a uuid column (no query needed). */
  const subjectMatchable = (t: TableInfo, column: string, subjectId: string): boolean =>
    t.columnTypes.get(column) !== "Uuid" || UUID.safeParse(subjectId).success;

  return {
    name,
    strategy,
    listTables: async () => tables.map((t) => t.table),
    streamRows: (table, batchSize) => page(info(table), batchSize),
    async *streamSubjectRows(table, subjectColumn, subjectId, batchSize) {
      const t = info(table);
      if (!t.columnTypes.has(subjectColumn)) throw new StratumError("VALIDATION_FAILED", `${table} has no column ${subjectColumn}.`);
      if (!subjectMatchable(t, subjectColumn, subjectId)) return;
      yield* page(t, batchSize, { column: subjectColumn, value: subjectId });
    },
    async deleteSubjectRows(table, subjectColumn, subjectId) {
      const t = info(table);
      if (!t.columnTypes.has(subjectColumn)) throw new StratumError("VALIDATION_FAILED", `${table} has no column ${subjectColumn}.`);
      if (!subjectMatchable(t, subjectColumn, subjectId)) return 0;
      return db.execute(`DELETE FROM ${q(t.table)} WHERE ${q(t.tenantColumn)} = $1::uuid AND ${q(subjectColumn)} = $2`, [tenantId, subjectId]);
    },
    async counts() {
      const out: Record<string, number> = {};
      for (const t of tables) {
        const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${q(t.table)} WHERE ${q(t.tenantColumn)} = $1::uuid`, [tenantId]);
        out[t.table] = r?.n ?? 0;
      }
      return out;
    },
    async deleteAll() {
      return db.transaction(async (tx) => {
        const out: Record<string, number> = {};
        for (const t of [...tables].reverse()) {
          out[t.table] = await tx.execute(`DELETE FROM ${q(t.table)} WHERE ${q(t.tenantColumn)} = $1::uuid`, [tenantId]);
        }
        return out;
      });
    },
    async dropHome() {
      if (strategy === "SHARED_RLS") return null;
      await runtime.strategies[strategy].deprovision(route, runtime.provisionContext());
      // Only a recorded home is removed (deprovision never falls back to the slug).
      return route.placement;
    },
  };
}
