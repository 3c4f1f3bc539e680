/** What PostgreSQL planned for the prepared statements of one connection (pg_prepared_statements). */
type RawClient = { $queryRawUnsafe<T>(sql: string, ...values: unknown[]): PromiseLike<T> };

/**
 * Generic and custom plans made so far for the statements whose text matches `like`, on the
 * connection `client`'s raw statement runs on (a pool of one: the connection the calls used).
 */
export async function preparedPlans(client: RawClient, like: string): Promise<{ generic: number; custom: number }> {
  const rows = await client.$queryRawUnsafe<Array<{ generic: number; custom: number }>>(
    "SELECT coalesce(sum(generic_plans), 0)::int AS generic, coalesce(sum(custom_plans), 0)::int AS custom FROM pg_prepared_statements WHERE statement LIKE $1",
    like,
  );
  return rows[0]!;
}
