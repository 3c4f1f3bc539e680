import { createTestDatabase } from "../harness/database.js";
import { stratumTestClient } from "./stratum-client.js";

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

/**
 * A fresh test database, a stratum client on one connection (the plans counted are the calls'),
 * and one SHARED_RLS tenant owning `users` users (`u<i>@<label>.test`).
 */
export async function oneConnectionTenant(label: string, name: string, users = 0) {
  const db = await createTestDatabase({ label });
  const client = stratumTestClient(db, { poolSize: 1 });
  const tenant = await client.prisma.$stratum.createTenant({ name });
  if (users > 0) {
    await client.prisma.$tenant(tenant.id).user.createMany({
      data: Array.from({ length: users }, (_, i) => ({ tenant_id: tenant.id, email: `u${i}@${label}.test` })),
    });
  }
  return {
    db,
    client,
    tenant,
    async close() {
      await client.close();
      await db.drop();
    },
  };
}
export type OneConnectionTenant = Awaited<ReturnType<typeof oneConnectionTenant>>;
