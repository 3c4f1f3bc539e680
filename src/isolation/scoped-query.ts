/**
 * One round trip per scoped query.
 *
 * In PostgreSQL's extended protocol every statement sent before a single Sync runs in one implicit
 * transaction. So the scope's `set_config(…, true)` calls and the query travel together:
 *
 *   Bind/Execute (prelude, prepared once per connection)  Parse/Bind/Describe/Execute (query)  Sync
 *
 * The settings are transaction-local: they vanish at the Sync (or at COMMIT/ROLLBACK inside an
 * explicit transaction), so a pooled connection never carries a tenant to its next borrower, and
 * an error anywhere aborts the prelude together with the query.
 */
import { createRequire } from "node:module";
import pg from "pg";
import { SCOPE_SETTING } from "../sql/protocol.js";

/**
 * `$6` is the statement's plan_cache_mode: empty keeps the session's (the connection's default,
 * or whatever the deployer set), `force_generic_plan` for descendants statements (planModeOf).
 */
export const PRELUDE_SQL =
  `SELECT pg_catalog.set_config('${SCOPE_SETTING}', $1, true), pg_catalog.set_config('search_path', $2, true), ` +
  "pg_catalog.set_config('transaction_read_only', $3, true), pg_catalog.set_config('stratum.actor', $4, true), " +
  "pg_catalog.set_config('stratum.request_id', $5, true), " +
  "pg_catalog.set_config('plan_cache_mode', coalesce(nullif($6, ''), pg_catalog.current_setting('plan_cache_mode')), true)";

/**
 * The prelude's plan_cache_mode for a statement of `scope`. A descendants read (its tenant tables
 * replaced by subtree views, up to 50 homes a statement) is the same text on every call of that
 * subtree, and PostgreSQL would plan it afresh for its first five executions on every connection
 * ("custom plans", because Prisma binds LIMIT/OFFSET): 8–15 ms of planning for 3 ms of execution
 * per 50 homes. Its generic plan is as good (the policies' values are InitPlans, not parameters;
 * only a bound filter such as a LIKE prefix is no longer an index range, and the subtree's rows
 * are filtered instead), so it is planned once per connection. Every other statement keeps the
 * session's mode.
 */
export function planModeOf(scope: { tableSources?: unknown } | undefined): string {
  return scope?.tableSources ? "force_generic_plan" : "";
}

export type Callback = (err: Error | null, result?: pg.QueryResult) => void;

/** pg's Query as it is at run time; @types/pg describes only its public face. */
interface QueryInternals {
  submit(connection: PgConnection): Error | null;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: PgConnection): void;
  handleEmptyQuery(connection: PgConnection): void;
  handleError(err: Error, connection: PgConnection): void;
  _getRows(connection: PgConnection, rows: number | undefined): void;
}
/** pg's own conversion of a parameter to its text form (Dates, arrays, JSON, Buffers), as pg binds them. */
const prepareValue = (createRequire(import.meta.url)("pg/lib/utils.js") as { prepareValue: (value: unknown) => unknown }).prepareValue;
const BaseQuery = pg.Query as unknown as new (config: pg.QueryConfig, values?: unknown, callback?: unknown) => QueryInternals;

/** The prelude is prepared once per connection under this name, then only bound and executed. */
export const PRELUDE_STATEMENT = "stratum_scope";

/**
 * Sent after a scoped raw statement, before its Sync: whatever session-level setting the statement
 * made (`SET search_path`, `set_config('stratum.tenant_id', …, false)`, `SET SESSION
 * CHARACTERISTICS …`) is put back to the connection's defaults, so nothing it did outlives it on
 * a pooled connection. Prisma's own model statements never change settings, so they skip it.
 */
export const POSTLUDE_SQL = "RESET ALL";

export interface Pipeline {
  values: string[];
  /** Parse the prelude first (the connection has not prepared it yet). */
  parse: boolean;
  /**
   * Bind the prelude prepared under PRELUDE_STATEMENT; false parses it unnamed, for a session a
   * raw statement touched (it may have re-prepared that name with code of its own).
   */
  named: boolean;
  postlude: boolean;
  /**
   * Open a transaction in the same Sync: BEGIN goes first, so the prelude and the statement run in
   * the explicit transaction it starts (stratum's own service transactions: one round trip less).
   */
  begin?: boolean;
  /**
   * Statements run after the prelude and before the query, results unread (Db.defer). A named
   * one is prepared once per connection (only where `named`), like the query.
   */
  before?: ReadonlyArray<DeferredStatement>;
  /**
   * Statements run after the query and before the Sync, results unread: a service transaction's
   * last statement carries what was deferred after it and the COMMIT (driver-db.ts, `commitWith`).
   */
  after?: ReadonlyArray<DeferredStatement>;
}

export interface DeferredStatement {
  text: string;
  values: readonly unknown[];
  name?: string | undefined;
}

/** A pg Query preceded, in the same Sync, by the scope prelude, and followed by the postlude. */
export class ScopedQuery extends BaseQuery {
  /** Results seen so far: [BEGIN,] the prelude, [the statements before,] the query, [the statements after,] [the postlude]. */
  phase = 0;
  /** The phase of the prelude's result (0, or 1 after a BEGIN). */
  private readonly preludePhase: number;
  /** The phase of the query's own result. */
  readonly queryPhase: number;

  constructor(
    config: pg.QueryConfig,
    callback: Callback,
    private readonly pipeline: Pipeline,
  ) {
    // Only what pg's Query reads: pg copies its config by property descriptors, and the scoped
    // config's own symbol-keyed fields (the scope, the deferred statements) made that copy cost
    // several microseconds a statement.
    const { text, values, name, rowMode, types, binary } = config as pg.QueryConfig & { rowMode?: string; binary?: boolean };
    super({ text, values, name, rowMode, types, binary, queryMode: "extended" } as pg.QueryConfig, undefined, callback as never);
    this.preludePhase = pipeline.begin ? 1 : 0;
    this.queryPhase = this.preludePhase + 1 + (pipeline.before?.length ?? 0);
  }

  /** True once the prelude has run (so the connection holds it prepared, when it was named). */
  get preludeRan(): boolean {
    return this.phase > this.preludePhase;
  }

  override submit(connection: PgConnection): Error | null {
    // Buffer the prelude's messages so they leave in the same write as the query's.
    connection.stream.cork?.();
    try {
      const name = this.pipeline.named ? PRELUDE_STATEMENT : "";
      if (this.pipeline.begin) {
        connection.parse({ text: "BEGIN", name: "", types: [] });
        connection.bind({ portal: "", statement: "", values: [] });
        connection.execute({ portal: "", rows: 0 });
      }
      if (this.pipeline.parse || !this.pipeline.named) connection.parse({ text: PRELUDE_SQL, name, types: [] });
      connection.bind({ portal: "", statement: name, values: this.pipeline.values });
      connection.execute({ portal: "", rows: 0 });
      for (const statement of this.pipeline.before ?? []) this.sendDeferred(connection, statement);
      return super.submit(connection);
    } finally {
      connection.stream.uncork?.();
    }
  }

  private sendDeferred(connection: PgConnection, statement: DeferredStatement): void {
    const name = this.pipeline.named ? (statement.name ?? "") : "";
    if (!name || connection.parsedStatements[name] !== statement.text) {
      // Not known to be prepared: an earlier pipeline may have parsed it and then failed, so
      // close whatever the name holds first (closing a missing statement is no error).
      if (name) connection.close({ type: "S", name });
      connection.parse({ text: statement.text, name, types: [] });
    }
    connection.bind({ portal: "", statement: name, values: statement.values, valueMapper: prepareValue });
    connection.execute({ portal: "", rows: 0 });
  }

  /** pg sends the query's Execute and Sync here; the statements after it and the postlude go between them. */
  override _getRows(connection: PgConnection, rows: number | undefined): void {
    if (rows || (!this.pipeline.postlude && !this.pipeline.after?.length)) return super._getRows(connection, rows);
    connection.execute({ portal: (this as unknown as { portal?: string }).portal ?? "", rows: 0 });
    for (const statement of this.pipeline.after ?? []) this.sendDeferred(connection, statement);
    if (this.pipeline.postlude) {
      connection.parse({ text: POSTLUDE_SQL, name: "", types: [] });
      connection.bind({ portal: "", statement: "", values: [] });
      connection.execute({ portal: "", rows: 0 });
    }
    connection.sync();
  }

  override handleDataRow(msg: unknown): void {
    if (this.phase === this.queryPhase) super.handleDataRow(msg);
  }

  override handleCommandComplete(msg: unknown, connection: PgConnection): void {
    // A named statement that ran was prepared: later pipelines on this connection only bind it.
    const deferred = !this.pipeline.named
      ? undefined
      : this.phase < this.queryPhase
        ? this.pipeline.before?.[this.phase - this.preludePhase - 1]
        : this.pipeline.after?.[this.phase - this.queryPhase - 1];
    if (deferred?.name) connection.parsedStatements[deferred.name] = deferred.text;
    if (this.phase++ === this.queryPhase) super.handleCommandComplete(msg, connection);
  }

  override handleEmptyQuery(connection: PgConnection): void {
    if (this.phase++ === this.queryPhase) super.handleEmptyQuery(connection);
  }
}

/** The parts of pg's internal Connection that ScopedQuery writes to. */
interface PgConnection {
  stream: { cork?: () => void; uncork?: () => void };
  /** Statement names this connection has prepared, and their text (pg's own registry). */
  parsedStatements: Record<string, string>;
  parse(msg: { text: string; name: string; types: unknown[] }): void;
  close(msg: { type: "S"; name: string }): void;
  bind(msg: { portal: string; statement: string; values: readonly unknown[]; valueMapper?: (value: unknown) => unknown }): void;
  execute(msg: { portal: string; rows: number }): void;
  sync(): void;
}
