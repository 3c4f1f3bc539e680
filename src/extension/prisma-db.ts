/**
 * A `Db` over the user's Prisma client, running under stratum's signed admin scope: the services
 * reach stratum's own tables and nothing else, through the same connection pool as the app.
 */
import { savepointDb, type Db } from "../core/db.js";
import { runInScope, type TenantScope } from "../isolation/scope.js";

/** The raw-query surface of any Prisma client (base or extended). */
export interface RawClient {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $transaction<R>(fn: (tx: RawClient) => Promise<R>, options?: { maxWait?: number; timeout?: number }): PromiseLike<R>;
}

export function prismaDb(client: RawClient, scope: TenantScope, options: { timeoutMs?: number } = {}): Db {
  const scoped = <T>(fn: () => PromiseLike<T>): Promise<T> => runInScope(scope, () => Promise.resolve(fn()));
  return {
    query: <T>(sql: string, params: readonly unknown[] = []) => scoped(() => client.$queryRawUnsafe<T[]>(sql, ...params)),
    execute: (sql, params = []) => scoped(() => client.$executeRawUnsafe(sql, ...params)),
    transaction: <T>(fn: (tx: Db) => Promise<T>) =>
      scoped(() => client.$transaction((tx) => fn(txDb(tx, scope)), { maxWait: 10_000, timeout: options.timeoutMs ?? 30_000 })),
  };
}

/** Inside an interactive transaction; nested transactions become savepoints. */
function txDb(tx: RawClient, scope: TenantScope): Db {
  return savepointDb({
    query: <T>(sql: string, params: readonly unknown[] = []) => runInScope(scope, () => Promise.resolve(tx.$queryRawUnsafe<T[]>(sql, ...params))),
    execute: (sql, params = []) => runInScope(scope, () => Promise.resolve(tx.$executeRawUnsafe(sql, ...params))),
  });
}
