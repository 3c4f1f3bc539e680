/**
 * bench:invalidation — how long a config write in one process takes to reach another process's
 * cache, over the PostgreSQL LISTEN/NOTIFY bus and the Redis bus. The test suite only proves that
 * the invalidation arrives (test/config-cache.test.ts); how fast is measured here, where a busy
 * machine skews a figure instead of failing a build.
 *
 *   npm run bench:invalidation                 # 10 rounds per bus
 *   BENCH_ROUNDS=3 npm run bench:invalidation
 *
 * Each round spawns the child of test/support/config-cache-child.ts, which caches a resolve and
 * polls it every 2 ms; the clock starts before the write is sent, so a figure includes the write.
 * Uses a scratch database on DATABASE_URL's server and Redis at REDIS_URL (default 127.0.0.1).
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createConfigService, createPgChangeBus, createRedisChangeBus } from "../../src/config/index.js";
import type { AuditSink } from "../../src/core/ports.js";
import { createScratchDb, insertChain, type ScratchDb } from "../../test/support/config-db.js";

delete process.env.STRATUM_TEST_TEMPLATE; // never the test harness: a plain scratch database
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const audit: AuditSink = { record: async () => undefined };

interface ChildReport {
  ready?: boolean;
  seenAt?: number;
  error?: string;
}

/** One write in this process, timed until the child sees it. */
async function round(s: ScratchDb, busKind: "pg" | "redis", value: number): Promise<number> {
  const bus =
    busKind === "redis"
      ? createRedisChangeBus({ redisUrl: REDIS_URL, connectionString: s.url, channel: "cfg_test" })
      : createPgChangeBus({ connectionString: s.url, channel: "cfg_test" });
  await bus.ready;
  const cfg = createConfigService(s.db, { audit, bus });
  const [root, , leaf] = (await insertChain(s.db, 3)) as [string, string, string];
  await cfg.setConfig(root, "limit", { value });
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/support/config-cache-child.ts", busKind, s.url, leaf, "limit", String(value + 1), REDIS_URL],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<ChildReport> => {
    const { value: line, done } = await lines.next();
    if (done) throw new Error("child exited early");
    return JSON.parse(line as string) as ChildReport;
  };
  try {
    const ready = await next();
    if (ready.error) throw new Error(ready.error);
    const started = Date.now();
    await cfg.setConfig(root, "limit", { value: value + 1 });
    const report = await next();
    if (report.error || report.seenAt === undefined) throw new Error(report.error ?? "the child never saw the write");
    return report.seenAt - started;
  } finally {
    await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(undefined)));
    cfg.close();
    await bus.close();
  }
}

async function main(): Promise<void> {
  const s = await createScratchDb("bench_inval");
  try {
    console.log(`| bus | rounds | p50 | max |\n|---|---:|---:|---:|`);
    for (const busKind of ["pg", "redis"] as const) {
      const samples: number[] = [];
      for (let i = 0; i < ROUNDS; i++) samples.push(await round(s, busKind, i * 10));
      samples.sort((a, b) => a - b);
      const p50 = samples[Math.floor(samples.length / 2)]!;
      console.log(`| ${busKind === "pg" ? "PostgreSQL LISTEN/NOTIFY" : "Redis pub/sub"} | ${ROUNDS} | ${p50} ms | ${samples.at(-1)} ms |`);
    }
  } finally {
    await s.drop();
  }
}

await main();
