/**
 * Child process for test/config-cache.test.ts. Resolves a tenant's config through a cached
 * service, reports "ready", then polls its (cached) resolve every 2 ms and reports the time it
 * first saw `expected`. argv: <busKind pg|redis> <databaseUrl> <tenantId> <key> <expected JSON> [redisUrl]
 */
import pg from "pg";
import { pgDb } from "../../src/core/db.js";
import { createConfigService, createPgChangeBus, createRedisChangeBus } from "../../src/config/index.js";

const [busKind, url, tenantId, key, expectedJson, redisUrl] = process.argv.slice(2) as [string, string, string, string, string, string?];
const expected = JSON.stringify(JSON.parse(expectedJson));
const pool = new pg.Pool({ connectionString: url, max: 2 });
const bus =
  busKind === "redis"
    ? createRedisChangeBus({ redisUrl: redisUrl ?? "redis://127.0.0.1:6379", connectionString: url, channel: "cfg_test" })
    : createPgChangeBus({ connectionString: url, channel: "cfg_test" });
const cfg = createConfigService(pgDb(pool), { audit: { record: async () => undefined }, bus });

let invalidatedAt = 0;
cfg.cache!.onInvalidate(() => {
  if (!invalidatedAt) invalidatedAt = Date.now();
});

async function main(): Promise<void> {
  await bus.ready;
  const first = await cfg.resolveConfigKey(tenantId, key);
  // a second read must be a cache hit
  await cfg.resolveConfigKey(tenantId, key);
  process.stdout.write(JSON.stringify({ ready: true, value: first?.value ?? null, hits: cfg.cache!.stats.hits }) + "\n");
  // A generous deadline: on a busy machine the point is that the new value arrives, not how fast.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const entry = await cfg.resolveConfigKey(tenantId, key);
    if (JSON.stringify(entry?.value ?? null) === expected) {
      process.stdout.write(JSON.stringify({ seenAt: Date.now(), invalidatedAt, misses: cfg.cache!.stats.misses }) + "\n");
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  cfg.close();
  await bus.close();
  await pool.end();
}

main().catch((error: unknown) => {
  process.stdout.write(JSON.stringify({ error: String(error) }) + "\n");
  process.exit(1);
});
