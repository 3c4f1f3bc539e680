/**
 * The scoped driver: a pg Client and Pool that send each scoped statement with its scope in one
 * round trip (scoped-query.ts) and keep every pooled session clean. After a raw statement the
 * session is reset before anyone else borrows the connection; behind a transaction pooler
 * (`pooler`), nothing is prepared by name and raw statements clean up inside their own
 * transaction. See docs/security.md.
 */
import pg from "pg";
import { connectionLost, poolerSuspected, PRELUDE_EXISTS, PRELUDE_MISSING, sessionResetFailed } from "./connection-errors.js";
import { SHARED_SEARCH_PATH } from "./names.js";
import { currentScope, inRawStatement, statementContext, type StatementContext, type TenantScope } from "./scope.js";
import { explainedPlan, explainExecuteSql, limitOnlyLiterals, PlanChoices, planShape } from "./plan-choice.js";
import { PRELUDE_SQL, PRELUDE_STATEMENT, planModeOf, ScopedQuery, type Callback, type Pipeline } from "./scoped-query.js";
import { SCOPE_SETTING } from "../sql/protocol.js";

export { PRELUDE_SQL } from "./scoped-query.js";

/** Attached to a query config by StratumPool so the scope survives pg-pool's callbacks. */
const SCOPE = Symbol.for("stratum.scope");
const NO_SCOPE = Symbol.for("stratum.no-scope");
const CONTEXT = Symbol.for("stratum.statement-context");
const RAW = Symbol.for("stratum.raw-statement");
const BEGIN = Symbol.for("stratum.begin");
const BEFORE = Symbol.for("stratum.before");
const AFTER = Symbol.for("stratum.after");

type ScopedConfig = pg.QueryConfig & {
  [SCOPE]?: TenantScope | typeof NO_SCOPE;
  [CONTEXT]?: StatementContext;
  [RAW]?: boolean;
  [BEGIN]?: boolean;
  [BEFORE]?: Pipeline["before"];
  [AFTER]?: Pipeline["after"];
};

/**
 * A statement of stratum's own (never raw: no session reset after it) in `scope`, for a
 * StratumPool or one of its clients: the scope rides in the config, not in AsyncLocalStorage.
 * `begin` opens a transaction in the same round trip when the connection is not in one. `name`
 * prepares it per connection (dropped behind a pooler or on a session a raw statement touched).
 */
export function scopedStatement(
  text: string,
  values: readonly unknown[] | undefined,
  scope: TenantScope,
  options: { name?: string | undefined; begin?: boolean; before?: Pipeline["before"]; after?: Pipeline["after"] } = {},
): pg.QueryConfig {
  const config: ScopedConfig = { text, [SCOPE]: scope, [RAW]: false, [CONTEXT]: statementContext() };
  if (values) config.values = [...values];
  if (options.name) config.name = options.name;
  if (options.begin) config[BEGIN] = true;
  if (options.before?.length) config[BEFORE] = options.before;
  if (options.after?.length) config[AFTER] = options.after;
  return config;
}

const TRANSACTION_CONTROL = /^\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|SET\s+TRANSACTION|PREPARE\s+TRANSACTION)\b/i;
/** Statements that commit the open transaction: a connection lost under one leaves the outcome unknown. */
const COMMITS = /^\s*(COMMIT|END)\b/i;

export interface StratumPgClientOptions {
  /** search_path restored when an unscoped statement follows a scoped one in a transaction. */
  defaultSearchPath: string;
  /** Named (prepared) statements kept per connection; default 500. */
  maxPreparedStatements?: number;
  /**
   * Behind a transaction pooler (PgBouncer `pool_mode = transaction`, Supavisor, RDS Proxy…): a
   * server session lasts one transaction, so nothing is prepared by name and a raw statement's
   * session state is cleared inside its own transaction (see POOLER_RESET).
   */
  pooler?: boolean;
  /**
   * Every statement read-only: a hot standby (replica.ts). A standby refuses the prelude's
   * `transaction_read_only = off` (SQLSTATE 25001), so this client never sends it.
   */
  readOnly?: boolean;
  /** One pool's verdicts on keeping generic plans (plan-choice.ts); StratumPool makes one per pool. */
  planChoices?: PlanChoices;
}

/** A statement whose generic plan may be kept: its verdict's key, prepared name, and its parameters as literals. */
interface PlanCheck {
  key: string;
  name: string;
  literals: string[];
}

/**
 * Where a raw statement left this session: "statement" when it ran outside a transaction (reset
 * right after it), "transaction" when it ran inside one (reset when the transaction ends).
 */
type Taint = "statement" | "transaction";

/**
 * Session state a raw statement can leave behind — prepared statements, temporary objects, open
 * transactions, settings, advisory locks, LISTEN, held cursors, sequence state — is cleared by
 * DISCARD ALL (after a ROLLBACK when the statement left a transaction open). Decided from what
 * PostgreSQL reports (the transaction status of ReadyForQuery), never from the statement's text.
 */
const RESET_OUTSIDE_TRANSACTION = ["DISCARD ALL"];
const RESET_INSIDE_TRANSACTION = ["ROLLBACK", "DISCARD ALL"];

/**
 * Behind a transaction pooler the next statement may reach another server session, so DISCARD ALL
 * (which cannot run in a transaction) is no use: a raw statement runs inside a transaction (or a
 * savepoint of the caller's) that this client opens, and what DISCARD ALL would clear is cleared
 * piece by piece before that transaction ends, while the pooler still holds the same server.
 * Temporary objects need no step: the app role cannot create them.
 */
const POOLER_RESET = "SELECT pg_catalog.pg_advisory_unlock_all(); DEALLOCATE ALL; CLOSE ALL; UNLISTEN *; DISCARD SEQUENCES; RESET ALL";
const POOLER_SAVEPOINT = "stratum_raw";

/**
 * A pg Client that prefixes scoped statements with the prelude. Inside an explicit transaction
 * it also clears the scope before an unscoped statement that follows a scoped one, so a user's
 * transaction mixing `tx.$tenant(a)` and unscoped calls never lends tenant a's scope onward.
 *
 * After a raw statement (one the caller wrote, marked by `runRawStatement` or a raw scope) the
 * session is reset before the connection serves anyone else; until then nothing named is bound on
 * it, so a statement the raw SQL re-prepared under stratum's or Prisma's names never runs.
 */
export class StratumPgClient extends pg.Client {
  private scopeDirty = false;
  private preludePrepared = false;
  private taint: Taint | undefined;
  private readonly defaultSearchPath: string;
  private readonly maxPrepared: number;
  private readonly pooler: boolean;
  /** The prelude's transaction_read_only when a statement does not ask for read-only itself. */
  private readonly writeMode: "on" | "off";
  private readonly planChoices: PlanChoices | undefined;

  constructor(config: pg.ClientConfig & { stratum?: StratumPgClientOptions }) {
    super(config);
    this.defaultSearchPath = config.stratum?.defaultSearchPath ?? SHARED_SEARCH_PATH;
    this.maxPrepared = config.stratum?.maxPreparedStatements ?? 500;
    this.pooler = config.stratum?.pooler ?? false;
    this.writeMode = config.stratum?.readOnly ? "on" : "off";
    this.planChoices = config.stratum?.planChoices;
    // A backend terminated under a checked-out or still-connecting client (failover, admin,
    // restart) emits 'error' here; the statement in flight fails with CONNECTION_LOST and pg-pool
    // drops the client when it comes back. Without a listener the process would crash.
    this.on("error", () => undefined);
  }

  /** Connects, then prepares the prelude once, so scoped statements only bind and execute it. */
  // pg's connect has promise and callback forms; pg-pool uses the callback one.
  override connect(...args: unknown[]): never {
    const callback = args[0] as ((err?: Error) => void) | undefined;
    const connect = super.connect.bind(this) as () => Promise<unknown>;
    const query = super.query.bind(this) as (q: pg.QueryConfig) => Promise<unknown>;
    const ready = connect()
      .then(async () => {
        if (this.pooler) return; // nothing prepared by name: the next transaction may be another session's
        await query({ name: PRELUDE_STATEMENT, text: PRELUDE_SQL, values: ["", this.defaultSearchPath, this.writeMode, "", "", ""] });
        this.preludePrepared = true;
      })
      .catch((error: unknown) => {
        // Nothing was sent: a statement waiting for this connection never ran.
        throw connectionLost(error, true) ?? (error instanceof Error ? poolerSuspected(error) : undefined) ?? error;
      });
    if (!callback) return ready as never;
    ready.then(() => callback(), callback);
    return undefined as never;
  }

  /**
   * Prisma's statements are prepared under a name derived from their text (PostgreSQL then plans
   * them once per connection, not per call), up to a bound per connection; past it, new texts run
   * unnamed rather than growing the server's memory without end. On a session a raw statement
   * touched, nothing runs named.
   */
  private boundName(config: ScopedConfig): void {
    if (!config.name) return;
    if (this.taint || this.pooler) {
      delete config.name;
      return;
    }
    const parsed = (this as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements;
    if (parsed[config.name] === undefined && Object.keys(parsed).length >= this.maxPrepared) delete config.name;
  }

  /** Deferred statements past the prepared-statement bound go unnamed, as boundName does for queries. */
  private boundDeferred(before: Pipeline["before"]): Pipeline["before"] {
    if (!before?.some((s) => s.name)) return before;
    const parsed = (this as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements;
    let room = this.maxPrepared - Object.keys(parsed).length;
    return before.map((s) => {
      if (!s.name || parsed[s.name] !== undefined) return s;
      if (room-- > 0) return s;
      return { text: s.text, values: s.values };
    });
  }

  // pg's overloads are wide; every form funnels through here.
  override query(...args: unknown[]): never {
    const [config, values, callback] = args as [unknown, unknown, unknown];
    if (config == null || typeof (config as { submit?: unknown }).submit === "function") {
      return (super.query as (...a: unknown[]) => never)(...args);
    }
    const given = (typeof values === "function" ? values : callback) as Callback | undefined;
    if (!given) {
      // Promise form: re-enter with a callback, so the state below is computed exactly once.
      return new Promise<pg.QueryResult>((resolve, reject) => {
        const done: Callback = (err, result) => (err ? reject(err) : resolve(result as pg.QueryResult));
        this.query(config, Array.isArray(values) ? values : undefined, done);
      }) as never;
    }
    const normalized: ScopedConfig = typeof config === "string" ? { text: config } : { ...(config as ScopedConfig) };
    const marked = normalized[SCOPE];
    const scope = marked === NO_SCOPE ? undefined : (marked ?? currentScope());
    if (Array.isArray(values)) normalized.values = values;
    const raw = normalized[RAW] ?? inRawStatement();
    if (raw && this.pooler) {
      this.runPoolerRaw(normalized, scope, given);
      return undefined as never;
    }
    if (raw && !this.taint) this.taint = this.inTransaction() ? "transaction" : "statement";
    this.boundName(normalized);
    const begin = normalized[BEGIN] === true && !this.inTransaction();
    // Inside a transaction a lost connection means the server rolled it back — unless the
    // statement was the COMMIT itself, which the server may have carried out before the break.
    const committedNothing = (begin || this.inTransaction()) && !COMMITS.test(normalized.text) && !normalized[AFTER]?.some((s) => COMMITS.test(s.text));
    const check = scope && !raw && !begin && !normalized[BEFORE] && !normalized[AFTER] && !this.inTransaction() ? this.planCheck(normalized, scope) : undefined;
    const reply = check ? this.checkingPlan(check, scope!, given) : given;
    const cb: Callback = (err, result) => this.settle(committedNothing, err, result, reply);

    let pipeline: Omit<Pipeline, "parse" | "named"> | undefined;
    // Deferred statements (Db.defer) ride with whatever comes next, a COMMIT included.
    const before = scope ? this.boundDeferred(normalized[BEFORE]) : undefined;
    const after = scope ? this.boundDeferred(normalized[AFTER]) : undefined;
    if (before || !TRANSACTION_CONTROL.test(normalized.text)) {
      if (scope) {
        const context = normalized[CONTEXT] ?? statementContext();
        const planMode = planModeOf(scope) || (check ? this.planChoices!.modeFor(check.key) : "");
        const values = [scope.token, scope.searchPath, scope.readOnly ? "on" : this.writeMode, context.actor, context.requestId, planMode];
        pipeline = { values, postlude: raw, ...(begin ? { begin } : {}), ...(before ? { before } : {}), ...(after ? { after } : {}) };
        this.scopeDirty = begin || this.inTransaction();
      } else if (this.scopeDirty && this.inTransaction()) {
        pipeline = { values: ["", this.defaultSearchPath, this.writeMode, "", "", ""], postlude: false };
        this.scopeDirty = false;
      }
    }
    if (pipeline) this.submitScoped(normalized, pipeline, cb, true);
    else if (begin) this.beginThen(normalized, cb);
    else (super.query as (...a: unknown[]) => unknown)(normalized, cb);
    return undefined as never;
  }

  /**
   * A standalone, prepared statement of a single-tenant scope binding only LIMIT/OFFSET: one whose
   * generic plan may be kept (plan-choice.ts).
   */
  private planCheck(config: ScopedConfig, scope: TenantScope): PlanCheck | undefined {
    if (!this.planChoices || !config.name || scope.mode !== "s" || scope.tableSources) return undefined;
    const literals = limitOnlyLiterals(config.text, config.values);
    return literals ? { key: PlanChoices.key(scope.searchPath, config.name), name: config.name, literals } : undefined;
  }

  /**
   * The statement's reply, after — the first time a pool runs it, and again when its verdict is
   * old — comparing its custom and generic plans on this connection, where it is prepared. The
   * caller waits for that one round trip; every later call of the statement is planned once.
   */
  private checkingPlan(check: PlanCheck, scope: TenantScope, given: Callback): Callback {
    return (err, result) => {
      if (err || !this.planChoices!.claim(check.key)) return given(err, result);
      // The caller's statement has answered: a connection lost during the check is the check's
      // failure, not the caller's. pg emits it as an 'error' event too, which pg-pool's query()
      // would hand the caller, untyped, in place of its rows; those listeners wait meanwhile (a
      // client that lost its connection is not queryable, and pg-pool drops it when released).
      const waiting = this.rawListeners("error") as Array<(...a: unknown[]) => void>;
      this.removeAllListeners("error");
      this.on("error", () => undefined);
      const done = (same: boolean) => {
        this.removeAllListeners("error");
        for (const listener of waiting) this.on("error", listener);
        this.planChoices!.settle(check.key, same);
        given(null, result);
      };
      this.samePlans(check, scope).then(done, () => done(false));
    };
  }

  /** EXPLAIN EXECUTE under force_custom_plan and force_generic_plan, in the scope, read-only, rolled back. */
  private async samePlans(check: PlanCheck, scope: TenantScope): Promise<boolean> {
    const run = (sql: string) =>
      new Promise<pg.QueryResult[]>((resolve, reject) =>
        (super.query as (...a: unknown[]) => unknown)({ text: sql }, (e: Error | null, r: pg.QueryResult | pg.QueryResult[]) =>
          e ? reject(e) : resolve(Array.isArray(r) ? r : [r]),
        ),
      );
    const explain = explainExecuteSql(check.name, check.literals);
    const mode = (m: string) => `SELECT pg_catalog.set_config('plan_cache_mode', '${m}', true)`;
    try {
      const results = await run(
        [
          "BEGIN READ ONLY",
          `SELECT pg_catalog.set_config('${SCOPE_SETTING}', ${this.escapeLiteral(scope.token)}, true), pg_catalog.set_config('search_path', ${this.escapeLiteral(scope.searchPath)}, true)`,
          mode("force_custom_plan"),
          explain,
          mode("force_generic_plan"),
          explain,
          "ROLLBACK",
        ].join("; "),
      );
      const custom = explainedPlan(results[3]?.rows ?? []);
      const generic = explainedPlan(results[5]?.rows ?? []);
      return custom !== undefined && generic !== undefined && planShape(custom) === planShape(generic);
    } catch (error) {
      // pg reports the error before the server's ReadyForQuery, so the transaction status is not
      // known yet: the transaction this check opened is aborted (or never began). Close it, or
      // retire the connection; never hand it back in a transaction.
      await run("ROLLBACK").catch(() => this.end().catch(() => undefined));
      throw error;
    }
  }

  /** A BEGIN that could not ride with the statement (a SAVEPOINT, say): its own round trip first. */
  private beginThen(config: ScopedConfig, cb: Callback): void {
    const run = super.query.bind(this) as (...a: unknown[]) => unknown;
    run({ text: "BEGIN" }, (err: Error | null) => (err ? cb(err) : run(config, cb)));
  }

  /**
   * Every statement ends here. A lost connection becomes CONNECTION_LOST; a session a raw
   * statement touched is reset before the caller (and so pg-pool's release) hears back.
   */
  private settle(committedNothing: boolean, err: Error | null, result: pg.QueryResult | undefined, given: Callback): void {
    const lost = err ? connectionLost(err, committedNothing) : undefined;
    if (lost) return given(lost, result);
    const pooled = err && !this.pooler && !this.taint ? poolerSuspected(err) : undefined;
    if (pooled) return given(pooled, result);
    if (!this.taint || (this.taint === "transaction" && this.inTransaction())) return given(err, result);
    this.resetSession().then(
      () => given(err, result),
      (resetError: unknown) => given(sessionResetFailed(resetError), result),
    );
  }

  /** DISCARD ALL (after a ROLLBACK if a transaction is open), or retire the connection. */
  private async resetSession(): Promise<void> {
    const run = (sql: string) =>
      new Promise<void>((resolve, reject) => (super.query as (...a: unknown[]) => unknown)({ text: sql }, (e: Error | null) => (e ? reject(e) : resolve())));
    try {
      for (const sql of this.inTransaction() ? RESET_INSIDE_TRANSACTION : RESET_OUTSIDE_TRANSACTION) await run(sql);
      if (this.inTransaction()) throw new Error(`the session is still in a transaction (status ${this.txStatus()})`);
    } catch (error) {
      // Whatever state is left must never reach another borrower: pg-pool drops an ending client.
      this.end().catch(() => undefined);
      throw error;
    }
    const connection = (this as unknown as { connection: { parsedStatements: Record<string, string> } }).connection;
    connection.parsedStatements = {};
    this.preludePrepared = false;
    this.scopeDirty = false;
    this.taint = undefined;
  }

  /**
   * Sends the pipeline, preparing the prelude if this connection has not. If the server disagrees
   * (the prelude was dropped), the prelude failed before the query ran, so the whole pipeline is
   * sent once more with the prepared state corrected.
   */
  private submitScoped(config: pg.QueryConfig, pipeline: Omit<Pipeline, "parse" | "named">, done: Callback, retry: boolean): void {
    const named = !this.taint && !this.pooler;
    const parse = named && !this.preludePrepared;
    const query = new ScopedQuery(
      config,
      (err, result) => {
        if (query.preludeRan && named) this.preludePrepared = true;
        const code = (err as { code?: string } | null)?.code;
        if (err && named && !query.preludeRan && retry && (code === PRELUDE_MISSING || code === PRELUDE_EXISTS)) {
          this.preludePrepared = code === PRELUDE_EXISTS;
          // Unnamed this time: pg would record the query's name as parsed on the prelude's
          // ParseComplete, before the query's own Parse has been answered.
          const { name: _name, ...unnamed } = config;
          if (!pipeline.begin) return this.submitScoped(unnamed, pipeline, done, false);
          // The BEGIN ran and its transaction is aborted: end it, then begin again.
          (super.query as (...a: unknown[]) => unknown)({ text: "ROLLBACK" }, (rollbackError: Error | null) =>
            rollbackError ? done(err, result) : this.submitScoped(unnamed, pipeline, done, false),
          );
          return;
        }
        done(err, result);
      },
      { ...pipeline, parse, named },
    );
    (super.query as (q: unknown) => unknown)(query);
  }

  /**
   * Pooler mode, a raw statement: BEGIN (or a savepoint inside the caller's transaction), the
   * statement with its scope, then — still inside, so on the same server session — the reset,
   * and COMMIT or ROLLBACK as the statement went. Three round trips; model statements keep one.
   */
  private runPoolerRaw(config: ScopedConfig, scope: TenantScope | undefined, given: Callback): void {
    const simple = (sql: string) =>
      new Promise<void>((resolve, reject) => (super.query as (...a: unknown[]) => unknown)({ text: sql }, (e: Error | null) => (e ? reject(e) : resolve())));
    const nested = this.inTransaction();
    const context = config[CONTEXT] ?? statementContext();
    // As on the direct path: the scope's settings, or (inside the caller's transaction, after a
    // scoped statement) empty ones, so an unscoped statement never runs under a tenant's scope.
    const values = scope
      ? [scope.token, scope.searchPath, scope.readOnly ? "on" : this.writeMode, context.actor, context.requestId, planModeOf(scope)]
      : nested && this.scopeDirty
        ? ["", this.defaultSearchPath, this.writeMode, "", "", ""]
        : undefined;
    const run = () =>
      new Promise<{ err: Error | null; result: pg.QueryResult | undefined }>((resolve) => {
        const done: Callback = (err, result) => resolve({ err, result });
        if (!values || TRANSACTION_CONTROL.test(config.text)) return (super.query as (...a: unknown[]) => unknown)(config, done);
        this.submitScoped(config, { values, postlude: true }, done, false);
      });
    simple(nested ? `SAVEPOINT ${POOLER_SAVEPOINT}` : "BEGIN")
      .then(run)
      .then(async ({ err, result }) => {
        // pg reports a statement's error before the server's ReadyForQuery, so the transaction
        // status is not known yet: an error means the transaction this client opened is aborted.
        const close = err
          ? nested
            ? [`ROLLBACK TO SAVEPOINT ${POOLER_SAVEPOINT}`, `RELEASE SAVEPOINT ${POOLER_SAVEPOINT}`]
            : ["ROLLBACK"]
          : !this.inTransaction()
            ? []
            : nested
              ? [`RELEASE SAVEPOINT ${POOLER_SAVEPOINT}`]
              : [];
        const commit = !err && !nested && this.inTransaction() ? ["COMMIT"] : [];
        await simple([...close, POOLER_RESET, ...commit].join("; "));
        this.scopeDirty = false; // RESET ALL cleared the scope's settings too
        // Inside the transaction this client opened, a lost connection committed nothing.
        given(err ? (connectionLost(err, true) ?? err) : null, result);
      })
      .catch((error: unknown) => {
        this.end().catch(() => undefined);
        given(connectionLost(error, false) ?? sessionResetFailed(error), undefined);
      });
  }

  private txStatus(): string | null | undefined {
    return (this as unknown as { _txStatus?: string | null })._txStatus;
  }

  private inTransaction(): boolean {
    const status = this.txStatus();
    return status === "T" || status === "E";
  }
}

/**
 * A pg Pool of StratumPgClients. pg-pool may run a query's callback in the context of whichever
 * query released the connection, so the scope is captured when `query` is called, not later.
 */
export class StratumPool extends pg.Pool {
  constructor(config: pg.PoolConfig & { stratum?: StratumPgClientOptions }) {
    const stratum: StratumPgClientOptions = {
      defaultSearchPath: SHARED_SEARCH_PATH,
      ...config.stratum,
      planChoices: config.stratum?.planChoices ?? new PlanChoices(),
    };
    super({ ...config, stratum, Client: StratumPgClient as unknown as typeof pg.Client } as pg.PoolConfig);
    // An idle connection the server closed (restart, DROP DATABASE … FORCE) is dropped from the
    // pool by pg-pool; without a listener its 'error' event would crash the process.
    this.on("error", () => undefined);
  }

  override query(...args: unknown[]): never {
    const [config, ...rest] = args;
    if (config != null && typeof (config as { submit?: unknown }).submit !== "function") {
      const normalized: ScopedConfig = typeof config === "string" ? { text: config } : { ...(config as ScopedConfig) };
      if (!(SCOPE in normalized)) {
        const scope = currentScope();
        normalized[SCOPE] = scope ?? NO_SCOPE;
        normalized[RAW] = inRawStatement();
        if (scope) normalized[CONTEXT] = statementContext();
      }
      return (super.query as (...a: unknown[]) => never)(normalized, ...rest);
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}
