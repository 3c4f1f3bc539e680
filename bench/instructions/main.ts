/**
 * bench:instructions — what a scoped read costs in Node, counted in instructions rather than timed.
 *
 * bench:isolation's Node CPU column is `process.cpuUsage()` around each call; on a shared 2-core
 * VM it moves by ±30 % between runs minutes apart, wider than the ≤ 1.1× target it is read
 * against. Here each path runs in its own Node process under valgrind's callgrind, instrumented
 * only while the measured calls run (after a warm-up long enough for V8 to finish optimizing
 * them): the count of instructions the process executed — JavaScript, V8's runtime and garbage
 * collector, libuv, every thread — divided by the calls. The server's work is not counted (it is
 * another process). Two runs of one path agree to within a few tenths of a percent.
 *
 *   npm run bench:instructions                          # 3 rounds, 2,000 calls per query and path (≈ 8 minutes)
 *   BENCH_ROUNDS=5 BENCH_CALLS=4000 BENCH_WARMUP=5000 npm run bench:instructions
 *
 * Needs valgrind (Debian: `apt-get install valgrind`). Paths: plain Prisma over @prisma/adapter-pg
 * as the superuser (the unscoped baseline of bench:isolation) and `prisma.$tenant(id)` on a
 * SHARED_RLS tenant; queries: a 20-row `findMany` and `findUnique` by id (one caller, sequential).
 * Each process makes its own scratch database `bench_vol_instr_<random>` (dropped at the end).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type PathName, QUERIES, runChild, waitFor } from "./child.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ROUNDS = env("BENCH_ROUNDS", 3);
const CALLS = env("BENCH_CALLS", 2000);
const WARMUP = env("BENCH_WARMUP", 3000);
const PATHS: Record<PathName, string> = { plain: "Prisma, unscoped (superuser)", scoped: "**`$tenant(id)`, SHARED_RLS**" };

/** One path in one callgrind process: instructions per call, per query. */
async function measure(path: PathName): Promise<Record<(typeof QUERIES)[number], number>> {
  const dir = mkdtempSync(join(os.tmpdir(), "bench-instr-"));
  try {
    const child = spawn(
      "valgrind",
      ["--tool=callgrind", "--instr-atstart=no", `--callgrind-out-file=${join(dir, "cg.%p")}`, process.execPath, fileURLToPath(import.meta.url)],
      {
        env: { ...process.env, BENCH_INSTR_CHILD: path, BENCH_INSTR_DIR: dir, BENCH_CALLS: String(CALLS), BENCH_WARMUP: String(WARMUP) },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    let exited = false;
    const done = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => {
        exited = true;
        resolve(code);
      }),
    );
    const control = (...args: string[]) => {
      const r = spawnSync("callgrind_control", [...args, String(child.pid)], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`callgrind_control ${args.join(" ")}: ${r.stderr || r.stdout}`);
    };
    const out: Partial<Record<(typeof QUERIES)[number], number>> = {};
    try {
      for (const [i, query] of QUERIES.entries()) {
        await waitFor(join(dir, `ready-${query}`), () => !exited);
        // Counting starts at zero: a dump after instrumentation went off and on again would
        // otherwise report a wrapped-around total.
        control("--instr=on");
        control("--zero");
        writeFileSync(join(dir, `go-${query}`), "");
        await waitFor(join(dir, `done-${query}`), () => !exited);
        control("--dump", query);
        control("--instr=off");
        writeFileSync(join(dir, `stopped-${query}`), "");
        const dump = readdirSync(dir).find((f) => f.startsWith("cg.") && f.endsWith(`.${i + 1}`));
        const total = dump && /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, dump), "utf8"))?.[1];
        if (!total) throw new Error(`no callgrind dump for ${query} in ${dir}`);
        out[query] = Number(total) / CALLS;
      }
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(`${(error as Error).message}\n${stderr}`);
    }
    if ((await done) !== 0) throw new Error(`the measured process failed:\n${stderr}`);
    return out as Record<(typeof QUERIES)[number], number>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (spawnSync("valgrind", ["--version"]).status !== 0) {
    console.error("bench:instructions needs valgrind (Debian: apt-get install valgrind).");
    process.exit(2);
  }
  const started = Date.now();
  const load = os.loadavg();
  const runs: Record<PathName, Array<Record<(typeof QUERIES)[number], number>>> = { plain: [], scoped: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Which path goes first alternates, as in the other benches.
    const order: PathName[] = round % 2 === 0 ? ["plain", "scoped"] : ["scoped", "plain"];
    for (const path of order) {
      runs[path].push(await measure(path));
      console.error(`[bench] round ${round + 1}/${ROUNDS}: ${path} done`);
    }
  }
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const lines = [
    `## bench:instructions — ${ROUNDS} rounds × ${CALLS} calls per query and path after ${WARMUP} warm-up calls; Node ${process.version}; load average ${load.map((l) => l.toFixed(2)).join(" / ")}`,
    "",
    "| query | path | instructions per call (each round) | median | vs Prisma |",
    "|---|---|---:|---:|---:|",
  ];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  for (const query of QUERIES) {
    const base = median(runs.plain.map((r) => r[query]));
    for (const path of Object.keys(PATHS) as PathName[]) {
      const xs = runs[path].map((r) => r[query]);
      lines.push(`| \`${query}\` | ${PATHS[path]} | ${xs.map(fmt).join(" / ")} | ${fmt(median(xs))} | ${(median(xs) / base).toFixed(3)}× |`);
    }
  }
  lines.push("", `Total run time ${Math.round((Date.now() - started) / 1000)} s.`);
  console.log(lines.join("\n"));
}

if (process.env.BENCH_INSTR_CHILD) {
  await runChild(process.env.BENCH_INSTR_CHILD as PathName, process.env.BENCH_INSTR_DIR!, CALLS, WARMUP);
  process.exit(0);
} else {
  await main();
}
