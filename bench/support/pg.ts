/** Small pieces every benchmark's set-up uses: one short-lived connection, a random name part. */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** Runs `fn` on a connection of its own, closed afterwards (also when `fn` fails). */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `bytes` random bytes as hex: scratch database and tenant names that never collide. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}
