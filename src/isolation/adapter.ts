/**
 * The driver adapter that makes scopes real. Prisma hands every statement to its adapter; this one
 * reads the scope that `$tenant()` put in AsyncLocalStorage, picks the database the tenant lives
 * in, rewrites table qualification for schema tenants, and sends the scope with the statement.
 *
 * On PostgreSQL (`pg`) the scope rides in the same round trip as the statement (pg-pipeline.ts).
 * Any other adapter (PGlite for the quick start) is wrapped generically: a scoped statement runs
 * in its own short transaction with the settings applied first.
 */
import { createHash } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import type { IsolationLevel, SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery, SqlResultSet, Transaction } from "@prisma/driver-adapter-utils";
import { rememberDriverError } from "../core/driver-errors.js";
import { StratumError } from "../core/errors.js";
import { PRELUDE_SQL, StratumPool } from "./pg-pipeline.js";
import { planModeOf } from "./scoped-query.js";
import { readAcrossHomes, spansSeveralHomes } from "./descendants.js";
import { SHARED_SEARCH_PATH } from "./names.js";
import { assertSupportedDriver, assertSupportedPrismaAdapter } from "./driver-guard.js";
import { tenantDatabasePools, type ConnectionBudgetOptions, type TenantPools, type TenantPoolStats } from "./tenant-pools.js";
import { ReplicaPools, replicaWriteRefused, type ReplicaOptions } from "./replica.js";
import { currentScope, runInScope, statementContext, type TenantScope } from "./scope.js";

export interface StratumAdapterOptions {
  /** The app role's URL for the main database. */
  connectionString?: string;
  /** Extra pg pool settings for the main database (max, idleTimeoutMillis, …). */
  pool?: Omit<import("pg").PoolConfig, "connectionString">;
  /**
   * DATABASE strategy: named PostgreSQL servers, as the app role's URL. A tenant placed at
   * `<server>/<database>` is reached at that server with the database name swapped in.
   */
  servers?: Record<string, string>;
  /**
   * Legacy bound on tenant-database pools: without `connectionBudget.connections`, each server's
   * connection budget is maxPools × poolSize.
   */
  maxPools?: number;
  /** Connections per tenant-database pool, at most (default 5); a pool starts with one. */
  poolSize?: number;
  /**
   * DATABASE tenants: at most this many connections per server across all tenant-database pools
   * (default: the server's max_connections less superuser_reserved_connections less `reserve`,
   * 10 by default). Under pressure, idle pools are closed least recently used first; a pool in
   * use never is.
   * docs/operations.md#connection-budget.
   */
  connectionBudget?: ConnectionBudgetOptions;
  /** search_path for scoped statements outside SCHEMA tenants. */
  defaultSearchPath?: string;
  /** Wrap another Prisma driver adapter (e.g. PGlite) instead of connecting with pg. */
  adapter?: SqlDriverAdapterFactory;
  /** Prepare Prisma's statements per connection (planned once, not per call). Default true. */
  preparedStatements?: boolean;
  /**
   * Connect through a transaction pooler (PgBouncer `pool_mode = transaction`, Supabase's
   * Supavisor on 6543, Neon's pooled endpoint, RDS Proxy): nothing is prepared by name, model
   * statements keep one round trip, raw statements clean up inside their own transaction.
   * Also switched on by Prisma's convention, `?pgbouncer=true` in a connection string.
   * docs/isolation.md#poolers.
   */
  pooler?: boolean;
  /**
   * Connections of their own on the main database for descendants reads spanning several homes
   * (SCHEMA clients' schemas, and the shared tables beside them; default 2; 0 sends them through
   * the main pool). Such a statement is kilobytes of SQL over up to 50 homes, and its plan takes
   * PostgreSQL tens of milliseconds to make, once per connection: kept to a few connections, a
   * subtree is planned a few times per process rather than once on every connection of the pool,
   * and at most this many of its statements hold their locks at once. A subtree in one home (one
   * view: cheap to plan) stays on the main pool, and nothing comes here behind a `pooler` (nothing
   * is prepared there). docs/isolation.md#subtree-connections.
   */
  subtreeConnections?: number;
  /**
   * Hot standbys for `$tenant(id, { replica: true })` reads: the main database's and named
   * servers'. Homes without one are read on the primary. docs/scale.md#read-replicas.
   */
  replicas?: ReplicaOptions;
}

/** `?pgbouncer=true` (Prisma's convention) marks a pooled URL; pg itself must not see it. */
export function poolerUrl(url: string | undefined): { url: string | undefined; pooler: boolean } {
  if (!url) return { url, pooler: false };
  try {
    const parsed = new URL(url);
    const flag = parsed.searchParams.get("pgbouncer");
    if (flag === null) return { url, pooler: false };
    parsed.searchParams.delete("pgbouncer");
    return { url: parsed.toString(), pooler: flag === "true" || flag === "1" };
  } catch {
    return { url, pooler: false };
  }
}

/**
 * A stable name per statement text and search_path: the same SQL under the same search_path reuses
 * its prepared statement. PostgreSQL re-plans a prepared statement whenever the search_path differs
 * from the one it was planned under, so one name shared across search paths would be re-planned on
 * every switch: between SCHEMA tenants on a connection, and between any two scopes whose paths
 * differ (a SHARED_RLS scope and a hand-made or unscoped one) — measured at ≈ 100 µs a switch for a
 * `findMany` under RLS, paid by whichever statement came second. Unscoped statements run under the
 * pool's default path (the prelude sets it), so that is their key.
 */
const statementNames = new Map<string, Map<string, string>>();
let namedStatements = 0;
function statementNamer(defaultSearchPath: string): (query: SqlQuery) => string {
  return (query) => {
    // By search_path, then text: no key is concatenated per call (hashing a new string of a
    // descendants batch's kilobytes on every statement showed in profiles).
    const path = currentScope()?.searchPath ?? defaultSearchPath;
    let names = statementNames.get(path);
    if (!names) statementNames.set(path, (names = new Map()));
    let name = names.get(query.sql);
    if (name === undefined) {
      if (namedStatements >= 5_000) {
        statementNames.clear();
        statementNames.set(path, (names = new Map()));
        namedStatements = 0;
      }
      name = `s_${createHash("sha1").update(`${path}\0${query.sql}`).digest("base64url").slice(0, 20)}`;
      names.set(query.sql, name);
      namedStatements++;
    }
    return name;
  };
}

export interface StratumAdapterFactory extends SqlDriverAdapterFactory {
  readonly options: StratumAdapterOptions;
  /** Open tenant-database pools (for tests and the doctor). */
  openPools(): string[];
  /** The connection budget per server and its use (tests, the bench, monitoring). */
  tenantPoolStats(): TenantPoolStats | undefined;
  /**
   * The main database's scoped pool while Prisma holds this adapter connected (undefined before,
   * after `$disconnect`, and when wrapping another adapter): stratum's services run on it directly.
   */
  mainPool(): StratumPool | undefined;
}

export function stratumAdapter(options: StratumAdapterOptions): StratumAdapterFactory {
  if (!options.adapter && !options.connectionString) {
    throw new StratumError(
      "VALIDATION_FAILED",
      "stratumAdapter needs `connectionString` (the app role's PostgreSQL URL) or `adapter` (another Prisma driver adapter).",
    );
  }
  const searchPath = options.defaultSearchPath ?? SHARED_SEARCH_PATH;
  const main = poolerUrl(options.connectionString);
  const pooler = options.pooler ?? main.pooler;
  const pgOptions = options.preparedStatements === false || pooler ? undefined : { statementNameGenerator: statementNamer(searchPath) };
  let pools: TenantPools | undefined;
  let connectedPool: StratumPool | undefined;
  const factory: StratumAdapterFactory = {
    options,
    provider: "postgres",
    adapterName: options.adapter?.adapterName ?? "@prisma/adapter-pg",
    openPools: () => pools?.keys() ?? [],
    tenantPoolStats: () => pools?.stats(),
    mainPool: () => connectedPool,
    async connect() {
      if (options.adapter) {
        return new ScopedAdapter(await options.adapter.connect(), undefined, "generic");
      }
      // The scoped driver leans on pg's and adapter-pg's internals: refuse versions that differ.
      assertSupportedDriver();
      await assertSupportedPrismaAdapter(PrismaPg);
      const mainPool = new StratumPool({ connectionString: main.url, ...options.pool, stratum: { defaultSearchPath: searchPath, pooler } });
      const mainAdapter = await new PrismaPg(mainPool, pgOptions).connect();
      connectedPool = mainPool;
      const subtreeMax = pooler ? 0 : (options.subtreeConnections ?? 2);
      // Opens no connection until a descendants read comes. Only those reads keep it busy, so it
      // idles far longer than the main pool between them, and pg's 10 s idle timeout would throw
      // its plans away between two reads of a dashboard: 5 minutes unless the user set one. Its
      // idle connections do not keep the process alive.
      const subtreePool =
        subtreeMax > 0
          ? new StratumPool({
              connectionString: main.url,
              idleTimeoutMillis: 300_000,
              allowExitOnIdle: true,
              ...options.pool,
              max: subtreeMax,
              stratum: { defaultSearchPath: searchPath, pooler },
            })
          : undefined;
      const subtreeAdapter = subtreePool && (await new PrismaPg(subtreePool, pgOptions).connect());
      // Standby pools: every statement read-only, as a hot standby demands (replica.ts).
      const openStandbyPool = async (url: string) => {
        const target = poolerUrl(url);
        const stratum = { defaultSearchPath: searchPath, pooler: options.pooler ?? target.pooler, readOnly: true };
        const pool = new StratumPool({ connectionString: target.url, max: options.poolSize ?? 5, stratum });
        return { adapter: await new PrismaPg(pool, pgOptions).connect(), close: () => pool.end() };
      };
      pools = tenantDatabasePools(
        options,
        (placement, config) => {
          const tenant = poolerUrl(placementUrl(options.servers ?? {}, placement));
          return new StratumPool({
            connectionString: tenant.url,
            ...config,
            stratum: { defaultSearchPath: searchPath, pooler: options.pooler ?? tenant.pooler },
          });
        },
        (pool) => new PrismaPg(pool, pgOptions).connect(),
      );
      const replicas = options.replicas && new ReplicaPools(options.replicas, openStandbyPool, placementUrl, options.maxPools ?? 16);
      return new ScopedAdapter(
        mainAdapter,
        pools,
        "pg",
        async () => {
          if (connectedPool === mainPool) connectedPool = undefined;
          await replicas?.closeAll();
          await pools?.closeAll();
          await subtreePool?.end();
          await mainPool.end();
        },
        replicas,
        subtreeAdapter,
      );
    },
  };
  return factory;
}

/** `<server>/<database>` → the server's URL with the database name swapped in. */
export function placementUrl(servers: Record<string, string>, placement: string): string {
  const slash = placement.indexOf("/");
  const server = slash === -1 ? "" : placement.slice(0, slash);
  const database = placement.slice(slash + 1);
  const base = servers[server];
  if (!base || !/^[a-z][a-z0-9_]{0,62}$/.test(database)) {
    throw new StratumError(
      "PLACEMENT_UNKNOWN",
      `No server named "${server}" for placement "${placement}". Add it to stratumAdapter({ servers: { ${server || "name"}: "postgresql://…" } }).`,
      { placement, servers: Object.keys(servers) },
    );
  }
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

type Mode = "pg" | "generic";

/**
 * Strips "public". from tenant tables in Prisma's model statements for SCHEMA tenants, so
 * search_path picks their schema, and in a descendants view spanning several homes reads each
 * tenant table from all of them. Raw statements (`resetSession`) are the user's own text and run
 * as written: a literal or an explicit `public.` qualification in them stays what it says.
 */
function rewrite(query: SqlQuery, scope: TenantScope | undefined): SqlQuery {
  if (!scope?.unqualify || scope.resetSession) return query;
  if (scope.tableSources) return { ...query, sql: acrossHomes(query.sql, scope.unqualify, scope.tableSources) };
  return { ...query, sql: query.sql.replace(scope.unqualify, "$1") };
}

/**
 * Statements read across homes, per subtree's sources (kept by the router while the subtree is
 * cached) and Prisma's text: a batch over 50 homes is kilobytes of SQL, and the same string
 * object each time lets statementName find its name without hashing it again.
 */
const rewrittenAcrossHomes = new WeakMap<ReadonlyMap<string, string>, Map<string, string>>();
function acrossHomes(sql: string, unqualify: RegExp, tableSources: ReadonlyMap<string, string>): string {
  let texts = rewrittenAcrossHomes.get(tableSources);
  if (!texts) rewrittenAcrossHomes.set(tableSources, (texts = new Map()));
  let text = texts.get(sql);
  if (text === undefined) {
    text = readAcrossHomes(sql.replace(unqualify, "$1"), { tableSources });
    if (texts.size >= 200) texts.clear();
    texts.set(sql, text);
  }
  return text;
}

class ScopedAdapter implements SqlDriverAdapter {
  readonly provider = "postgres" as const;
  readonly adapterName: string;

  constructor(
    private readonly main: SqlDriverAdapter,
    private readonly pools: TenantPools | undefined,
    private readonly mode: Mode,
    private readonly onDispose?: () => Promise<void>,
    private readonly replicas?: ReplicaPools,
    subtree?: SqlDriverAdapter,
  ) {
    this.adapterName = main.adapterName;
    this.mainLease = { adapter: main, release: () => undefined };
    this.subtreeLease = subtree && { adapter: subtree, release: () => undefined };
  }

  private readonly mainLease: { adapter: SqlDriverAdapter; release: () => void };
  /** Descendants reads spanning several homes (`subtreeConnections`); undefined sends them to main. */
  private readonly subtreeLease: { adapter: SqlDriverAdapter; release: () => void } | undefined;

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.run(query, (target, q) => target.queryRaw(q));
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.run(query, (target, q) => target.executeRaw(q));
  }

  executeScript(script: string): Promise<void> {
    return this.main.executeScript(script);
  }

  getConnectionInfo() {
    return this.main.getConnectionInfo?.() ?? { supportsRelationJoins: true };
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const scope = currentScope();
    // A transaction runs on the primary: a replica read is one standalone statement.
    const lease = await this.target(scope?.replica ? { ...scope, replica: false } : scope);
    try {
      const inner = await runInScope(undefined, () => lease.adapter.startTransaction(isolationLevel));
      return new ScopedTransaction(inner, scope, this.mode, lease.release);
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  async dispose(): Promise<void> {
    await this.onDispose?.();
    await this.main.dispose();
  }

  private async run<T>(query: SqlQuery, exec: (target: SqlDriverAdapter | Transaction, q: SqlQuery) => Promise<T>): Promise<T> {
    const scope = currentScope();
    const q = rewrite(query, scope);
    const lease = this.leaseNow(scope) ?? (await this.target(scope));
    try {
      if (scope && this.mode === "generic") return await scopedGenericCall(lease.adapter, scope, q, exec);
      return await runInScope(scope, () => exec(lease.adapter, q));
    } catch (error) {
      throw (scope?.replica && replicaWriteRefused(error, scope)) || error;
    } finally {
      lease.release();
    }
  }

  /**
   * The main database (its subtree connections for a read spanning several homes), or a warm tenant
   * database's pool, without waiting; undefined when `target` must wait. A raw statement across
   * homes stays on the main pool: the session reset after it would throw away the plans the
   * subtree connections are there to keep. Transactions never come here (startTransaction).
   */
  private leaseNow(scope: TenantScope | undefined): { adapter: SqlDriverAdapter; release: () => void } | undefined {
    if (scope?.replica) return undefined;
    if (this.subtreeLease && !scope?.placement && !scope?.resetSession && spansSeveralHomes(scope?.tableSources)) return this.subtreeLease;
    if (!scope?.placement) return this.mainLease;
    return this.pools?.tryAcquire(scope.placement);
  }

  private async target(scope: TenantScope | undefined): Promise<{ adapter: SqlDriverAdapter; release: () => void }> {
    const standby = scope?.replica ? await this.replicas?.acquire(scope) : undefined;
    if (standby) return standby;
    if (!scope?.placement) return { adapter: this.main, release: () => undefined };
    if (!this.pools) {
      throw new StratumError("PLACEMENT_UNKNOWN", "DATABASE tenants need stratumAdapter({ connectionString, servers }); a wrapped adapter has one database.");
    }
    return this.pools.acquire(scope.placement);
  }
}

/** Generic path: the settings and the statement in one short transaction of the inner adapter. */
async function scopedGenericCall<T>(
  adapter: SqlDriverAdapter,
  scope: TenantScope,
  query: SqlQuery,
  exec: (target: Transaction, q: SqlQuery) => Promise<T>,
): Promise<T> {
  const tx = await adapter.startTransaction();
  try {
    await applySettings(tx, scope);
    const result = await exec(tx, query);
    await finish(tx, "COMMIT");
    return result;
  } catch (error) {
    await finish(tx, "ROLLBACK").catch(() => undefined);
    throw error;
  }
}

function applySettings(target: Transaction, scope: TenantScope | undefined, searchPath = SHARED_SEARCH_PATH): Promise<SqlResultSet> {
  const context = statementContext();
  const args = scope
    ? [scope.token, scope.searchPath, scope.readOnly ? "on" : "off", context.actor, context.requestId, planModeOf(scope)]
    : ["", searchPath, "off", "", "", ""];
  return target.queryRaw({ sql: PRELUDE_SQL, args, argTypes: args.map(() => ({ scalarType: "string", arity: "scalar" }) as never) });
}

async function finish(tx: Transaction, verb: "COMMIT" | "ROLLBACK"): Promise<void> {
  if (!tx.options.usePhantomQuery) await tx.executeRaw({ sql: verb, args: [], argTypes: [] });
  await (verb === "COMMIT" ? tx.commit() : tx.rollback());
}

/**
 * A transaction bound to the scope it was started in. Statements in a scoped transaction always
 * carry that scope; a different tenant inside it is refused rather than silently mixed. In an
 * unscoped transaction (the user's own), each statement carries whatever scope its caller has.
 */
class ScopedTransaction implements Transaction {
  readonly provider = "postgres" as const;
  readonly adapterName: string;
  readonly options: Transaction["options"];
  private genericScope: string | undefined = undefined;
  /** The one tenant an unbound (user's own) transaction may act for, once it has acted for one. */
  private tenantId: string | undefined = undefined;

  constructor(
    private readonly inner: Transaction,
    private readonly bound: TenantScope | undefined,
    private readonly mode: Mode,
    private readonly release: () => void,
  ) {
    this.adapterName = inner.adapterName;
    this.options = inner.options;
  }

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.run(query, (q) => this.inner.queryRaw(q));
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.run(query, (q) => this.inner.executeRaw(q));
  }

  async commit(): Promise<void> {
    try {
      await this.inner.commit();
    } finally {
      this.release();
    }
  }

  async rollback(): Promise<void> {
    try {
      await this.inner.rollback();
    } finally {
      this.release();
    }
  }

  createSavepoint(name: string): Promise<void> {
    return this.inner.createSavepoint?.(name) ?? Promise.resolve();
  }

  rollbackToSavepoint(name: string): Promise<void> {
    return this.inner.rollbackToSavepoint?.(name) ?? Promise.resolve();
  }

  releaseSavepoint(name: string): Promise<void> {
    return this.inner.releaseSavepoint?.(name) ?? Promise.resolve();
  }

  /**
   * One transaction, one tenant. Settings made by a statement stay in force until the next one
   * changes them, and commit-time code (deferred triggers) runs under whatever scope came last,
   * so a user's transaction that has acted for tenant A refuses tenant B. stratum's own service
   * statements (mode `a`, no tenant rows) may join either.
   */
  private claimTenant(caller: TenantScope | undefined): void {
    if (this.bound || !caller || caller.mode === "a") return;
    this.tenantId ??= caller.tenantId;
    if (caller.tenantId !== this.tenantId) {
      throw rememberDriverError(
        new StratumError(
          "TENANT_SCOPE_VIOLATION",
          `This transaction already acted for tenant ${this.tenantId}; a statement for tenant ${caller.tenantId} cannot join it. Run each tenant's work in its own transaction (prisma.$tenant(id).$transaction(...)).`,
          { tenantId: this.tenantId, refused: caller.tenantId },
        ),
      );
    }
  }

  private async run<T>(query: SqlQuery, exec: (q: SqlQuery) => Promise<T>): Promise<T> {
    const caller = currentScope();
    if (this.bound && caller && caller.token !== this.bound.token) {
      throw new StratumError(
        "TENANT_SCOPE_VIOLATION",
        `This transaction belongs to tenant ${this.bound.tenantId}; a statement for tenant ${caller.tenantId} cannot run in it. Start a separate transaction for the other tenant.`,
      );
    }
    this.claimTenant(caller);
    // The bound scope, carrying the caller's request to reset session settings (raw statements).
    const scope = this.bound && caller?.resetSession ? { ...this.bound, resetSession: true } : (this.bound ?? caller);
    if (scope?.placement && !this.bound) {
      throw new StratumError(
        "TENANT_SCOPE_VIOLATION",
        `Tenant ${scope.tenantId} lives in its own database; it cannot join a transaction on the main database. Use prisma.$tenant(id).$transaction(...).`,
      );
    }
    const q = rewrite(query, scope);
    if (this.mode === "generic") {
      // No pipelining here: apply the settings when the scope changes within the transaction.
      const key = scope?.token ?? "";
      if (key !== (this.genericScope ?? "")) {
        await applySettings(this.inner, scope);
        this.genericScope = key;
      }
      return exec(q);
    }
    return runInScope(scope, () => exec(q));
  }
}
