/**
 * A `Db` on the stratum driver's own pool, under stratum's signed admin scope: the services'
 * statements skip Prisma's raw-query and interactive-transaction machinery (≈ 2 ms of Node CPU
 * per five-statement transaction, against ≈ 0.7 ms over the driver) and keep everything the
 * driver guarantees: the signed scope in the same round trip as each statement (pg-pipeline.ts),
 * CONNECTION_LOST and the other typed faults, nothing prepared by name behind a pooler.
 *
 * A transaction borrows one connection; its first statement carries the BEGIN and the prelude in
 * the same Sync (one round trip), a deferred statement (Db.defer: the audit row) rides with the
 * next one or the COMMIT, a last statement (Db.commitWith) carries what follows it and the
 * COMMIT, nested transactions are savepoints, and a throw rolls back.
 */
import type pg from "pg";
import { savepointDb, type Db, type StatementOptions } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { scopedStatement, type StratumPool } from "../isolation/pg-pipeline.js";
import type { TenantScope } from "../isolation/scope.js";
import type { DeferredStatement } from "../isolation/scoped-query.js";

/** The pool, connecting Prisma's adapter first when it has not connected yet. */
export type PoolSource = () => StratumPool | Promise<StratumPool>;

export function driverDb(pool: PoolSource, scope: TenantScope): Db {
  const run = async (sql: string, params: readonly unknown[] | undefined, name?: string) =>
    (await pool()).query(scopedStatement(sql, params, scope, { name })) as unknown as Promise<pg.QueryResult<never>>;
  return {
    query: async <T>(sql: string, params?: readonly unknown[], options?: StatementOptions) => (await run(sql, params, options?.name)).rows as T[],
    execute: async (sql, params) => (await run(sql, params)).rowCount ?? 0,
    transaction: async (fn) => transaction(await (await pool()).connect(), scope, fn),
  };
}

async function transaction<T>(client: pg.PoolClient, scope: TenantScope, fn: (tx: Db) => Promise<T>): Promise<T> {
  // BEGIN rides with the first statement; until then there is nothing to commit or roll back.
  let begun = false;
  // Deferred statements, sent ahead of the next statement (or the COMMIT) in its round trip.
  let pending: DeferredStatement[] = [];
  // Set by commitWith: its round trip carried the COMMIT, and nothing may follow it.
  let ended = false;
  let committed = false;
  const run = (sql: string, params: readonly unknown[] | undefined, name?: string, after?: DeferredStatement[]) => {
    if (ended) throw afterLastStatement();
    const options = { name, begin: !begun, before: pending, ...(after ? { after } : {}) };
    begun = true;
    pending = [];
    return client.query(scopedStatement(sql, params, scope, options)) as unknown as Promise<pg.QueryResult<never>>;
  };
  const tx = savepointDb({
    query: async <R>(sql: string, params?: readonly unknown[], options?: StatementOptions) => (await run(sql, params, options?.name)).rows as R[],
    execute: async (sql, params) => (await run(sql, params)).rowCount ?? 0,
    defer: (sql, params, options) => {
      if (ended) throw afterLastStatement();
      pending.push({ text: sql, values: params ? [...params] : [], name: options?.name });
    },
    async commitWith<R>(sql: string, params: readonly unknown[], options: StatementOptions | undefined, then: (after: Db) => Promise<void>) {
      const after: DeferredStatement[] = [];
      await then(deferOnly(after));
      after.push({ text: "COMMIT", values: [] });
      const result = run(sql, params, options?.name, after);
      ended = true;
      const rows = (await result).rows as R[];
      committed = true;
      return rows;
    },
  });
  let result: T;
  try {
    result = await fn(tx);
  } catch (error) {
    // A failed ROLLBACK (the connection is gone) retires the connection rather than pooling it.
    const rollback = begun
      ? await client.query("ROLLBACK").then(
          () => undefined,
          (e: Error) => e,
        )
      : undefined;
    client.release(rollback);
    throw error;
  }
  if (committed || (!begun && pending.length === 0)) {
    client.release();
    return result;
  }
  let commit: pg.QueryResult;
  try {
    commit = await run("COMMIT", undefined);
  } catch (error) {
    // A deferred statement failed (the COMMIT never ran: end the aborted transaction), or the
    // COMMIT did; a ROLLBACK that fails too means the connection is gone, and it is retired.
    const rollback = await client.query("ROLLBACK").then(
      () => undefined,
      (e: Error) => e,
    );
    client.release(rollback);
    throw error;
  }
  client.release();
  // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not an error: a statement
  // failed and `fn` went on regardless. Nothing was written, and the caller must hear it.
  if (commit.command === "ROLLBACK") throw rolledBackAtCommit();
  return result;
}

/** What `then` of commitWith receives: statements it defers go after the last one, before the COMMIT. */
function deferOnly(after: DeferredStatement[]): Db {
  const refuse = () => Promise.reject(afterLastStatement());
  return {
    query: refuse,
    execute: refuse,
    transaction: refuse,
    defer: (sql, params, options) => {
      after.push({ text: sql, values: params ? [...params] : [], name: options?.name });
    },
  };
}

function afterLastStatement(): StratumError {
  return new StratumError(
    "INTERNAL",
    "A statement was issued after the transaction's last one (commitWith): only statements deferred in its `then` may follow it.",
  );
}

function rolledBackAtCommit(): StratumError {
  return new StratumError(
    "INTERNAL",
    "A statement in this transaction failed and was caught, so PostgreSQL rolled the transaction back at COMMIT: nothing was written. Let the error propagate, or run the statement in a nested transaction (a savepoint).",
  );
}
