/** Tidying the run's shared Redis after a file: its keys live under a random per-file prefix. */
import type { Redis } from "ioredis";

/** Deletes every key under `${prefix}:` (SCAN, not KEYS, so a busy Redis is not blocked). */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}
