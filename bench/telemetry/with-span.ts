/**
 * withSpan with no tracer provider registered vs calling the function directly, measured in the
 * same run. Run: `npx tsx bench/telemetry/with-span.ts` (ITERATIONS=… to change the count).
 * The async case awaits a resolved promise per call, the shape of a scoped query; the sync case
 * is the worst case for relative overhead.
 */
import { performance } from "node:perf_hooks";
import { isTracingEnabled, withSpan } from "../../src/telemetry/index.js";

const N = Number(process.env["ITERATIONS"] ?? 2_000_000);
const ROUNDS = 5;
const attrs = { tenantId: "6f1c2a8e-0d7b-4c39-9a51-2b0e7c4d5f60", isolationStrategy: "SHARED_RLS" };

let sink = 0;
const work = (i: number) => (i * 31) ^ 7;
const asyncWork = async (i: number) => (i * 31) ^ 7;

function timeSync(f: (i: number) => number): number {
  const t = performance.now();
  for (let i = 0; i < N; i++) sink += f(i);
  return performance.now() - t;
}

async function timeAsync(f: (i: number) => Promise<number>): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < N / 10; i++) sink += await f(i);
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main() {
  if (isTracingEnabled()) throw new Error("a tracer provider is registered; this benchmark measures the no-provider path");
  const results = { syncDirect: [] as number[], syncSpan: [] as number[], asyncDirect: [] as number[], asyncSpan: [] as number[] };
  for (let r = 0; r < ROUNDS + 1; r++) {
    const sd = timeSync(work);
    const ss = timeSync((i) => withSpan("stratum.bench", attrs, () => work(i)));
    const ad = await timeAsync(asyncWork);
    const as = await timeAsync((i) => withSpan("stratum.bench", attrs, () => asyncWork(i)));
    if (r === 0) continue; // warm-up
    results.syncDirect.push(sd);
    results.syncSpan.push(ss);
    results.asyncDirect.push(ad);
    results.asyncSpan.push(as);
  }
  const ns = (ms: number, n: number) => ((ms * 1e6) / n).toFixed(1);
  const sd = median(results.syncDirect);
  const ss = median(results.syncSpan);
  const ad = median(results.asyncDirect);
  const as = median(results.asyncSpan);
  console.log(`withSpan, no provider registered (${N} sync / ${N / 10} async calls, median of ${ROUNDS})`);
  console.log(`  sync : direct ${ns(sd, N)} ns/call, withSpan ${ns(ss, N)} ns/call, ratio ${(ss / sd).toFixed(2)}, overhead ${ns(ss - sd, N)} ns/call`);
  console.log(
    `  async: direct ${ns(ad, N / 10)} ns/call, withSpan ${ns(as, N / 10)} ns/call, ratio ${(as / ad).toFixed(2)}, overhead ${ns(as - ad, N / 10)} ns/call`,
  );
  console.log(`  (a PostgreSQL round trip is ~50,000-200,000 ns)`);
  if (sink === 42) console.log("");
}

await main();
