/**
 * The narrow handle every service receives. Services speak SQL (ltree and the resolvers need it
 * anyway) and never see the Prisma client, the adapter or each other's internals.
 *
 * Inside the extension a `Db` runs under stratum's signed admin scope, so it reaches stratum's own
 * tables and no tenant's rows: on the stratum driver's pool (extension/driver-db.ts), or through
 * the user's Prisma client on other adapters (extension/prisma-db.ts). `pgDb` wraps a plain `pg`
 * pool or client, for tooling and tests that connect as the owner.
 */
import type pg from "pg";

export interface Db {
  /**
   * Rows of one statement. Parameters are `$1`, `$2`, …; never interpolate values into `sql`.
   * Statements whose result is `void` (pg_advisory_xact_lock, pg_notify) go through `execute`:
   * Prisma's raw queries cannot read a void column.
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: StatementOptions): Promise<T[]>;
  /** Affected row count of one statement. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs `fn` in one transaction on one connection; a throw rolls everything back. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction, where the backing driver pipelines (the stratum driver): a statement
   * whose result nobody reads (an audit row) travels with the transaction's next statement or its
   * COMMIT, one round trip less. Its failure fails that statement and the whole transaction.
   * Absent elsewhere: callers fall back to `execute` (see `executeOrDefer`).
   */
  defer?(sql: string, params?: readonly unknown[], options?: StatementOptions): void;
  /**
   * Inside a transaction, where the backing driver pipelines: runs `sql` as the transaction's last
   * statement, with what `then` defers after it and the COMMIT after that, in one round trip. `then`
   * runs before the statement is sent, so it can only defer, and its statements see what `sql`
   * wrote, never its rows in Node. Nothing else may run in the transaction afterwards. Absent
   * elsewhere: callers go through `commitWith`, which runs the same steps one by one.
   */
  commitWith?<T>(sql: string, params: readonly unknown[], options: StatementOptions | undefined, then: (after: Db) => Promise<void>): Promise<T[]>;
}

/** `tx.defer` where the Db has it, else `tx.execute`: for writes whose result is not needed. */
export async function executeOrDefer(tx: Db, sql: string, params?: readonly unknown[], options?: StatementOptions): Promise<void> {
  if (tx.defer) tx.defer(sql, params, options);
  else await tx.execute(sql, params);
}

/**
 * `tx.commitWith` where the Db has it (one round trip, the COMMIT included); elsewhere the
 * statement, then `then` on the same transaction, whose COMMIT follows when its function returns.
 */
export async function commitWith<T>(
  tx: Db,
  sql: string,
  params: readonly unknown[],
  options: StatementOptions | undefined,
  then: (after: Db) => Promise<void>,
): Promise<T[]> {
  if (tx.commitWith) return tx.commitWith<T>(sql, params, options, then);
  const rows = await tx.query<T>(sql, params, options);
  await then(tx);
  return rows;
}

export interface StatementOptions {
  /**
   * Prepare the statement under this name, once per connection, where the backing driver can
   * (pg; not behind a transaction pooler): for hot statements whose planning costs more than
   * their execution (the resolves). One name, one text: never reuse a name for other SQL.
   */
  name?: string;
}

type Queryable = Pick<pg.Pool, "query"> | Pick<pg.PoolClient, "query">;

export function pgDb(pool: pg.Pool): Db {
  return {
    query: (sql, params, options) => run(pool, sql, params, options?.name).then((r) => r.rows),
    execute: (sql, params) => run(pool, sql, params).then((r) => r.rowCount ?? 0),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn(clientDb(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

/** A Db over one connection (already in a transaction, or not); nested transactions become savepoints. */
export function clientDb(client: Pick<pg.PoolClient, "query">): Db {
  return savepointDb({
    query: (sql, params, options) => run(client, sql, params, options?.name).then((r) => r.rows),
    execute: (sql, params) => run(client, sql, params).then((r) => r.rowCount ?? 0),
  });
}

/**
 * `db` with one statement text prepared under `name` wherever it runs (StatementOptions.name);
 * every other text runs as it would. For services that hand their hot statement to shared code.
 */
export function preparedAs(db: Db, sql: string, name: string): Db {
  return {
    query: (text, params, options) => db.query(text, params, text === sql ? { ...options, name } : options),
    execute: db.execute,
    transaction: db.transaction,
    ...(db.defer ? { defer: db.defer } : {}),
  };
}

/**
 * Completes statements that already run inside one transaction into a Db: `transaction` nests as
 * savepoints. Inside a savepoint `commitWith` runs its steps one by one: it must not commit the
 * enclosing transaction.
 */
export function savepointDb(statements: Pick<Db, "query" | "execute" | "defer" | "commitWith">): Db {
  let depth = 0;
  const db: Db = {
    query: statements.query,
    execute: statements.execute,
    ...(statements.defer ? { defer: statements.defer } : {}),
    ...(statements.commitWith
      ? {
          commitWith: <T>(sql: string, params: readonly unknown[], options: StatementOptions | undefined, then: (after: Db) => Promise<void>) =>
            depth > 0 ? commitWith<T>({ ...db, commitWith: undefined }, sql, params, options, then) : statements.commitWith!<T>(sql, params, options, then),
        }
      : {}),
    async transaction(fn) {
      const savepoint = `stratum_sp_${++depth}`;
      await db.execute(`SAVEPOINT ${savepoint}`);
      try {
        const result = await fn(db);
        await db.execute(`RELEASE SAVEPOINT ${savepoint}`);
        return result;
      } catch (error) {
        await db.execute(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        throw error;
      } finally {
        depth--;
      }
    },
  };
  return db;
}

function run(target: Queryable, sql: string, params?: readonly unknown[], name?: string) {
  const values = params ? [...params] : undefined;
  return (name ? target.query({ name, text: sql, ...(values ? { values } : {}) }) : target.query(sql, values)) as Promise<pg.QueryResult<never>>;
}
