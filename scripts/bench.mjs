#!/usr/bin/env node
/**
 * Runs one benchmark on the code as it ships: `bench/<name>/main.ts` and the sources it imports,
 * bundled by esbuild into `bench/.out/<name>.mjs` (packages left external), then run by node.
 *
 * Why not `tsx bench/<name>/main.ts`: tsx compiles with esbuild's keepNames, which wraps every
 * function expression in a `__name(fn, "…")` call — a property definition each time a closure is
 * made. The published package is compiled by tsc and has none of them, and a scoped statement
 * makes a dozen closures: under tsx the Node CPU figures charged that to stratum's layer.
 *
 *   node scripts/bench.mjs isolation            # what `npm run bench:isolation` runs
 *   node scripts/bench.mjs fleet-pools          # bench:pools
 *
 * The bundle sits two folders below the repository, as `bench/<name>/main.ts` does, so the
 * benches' paths relative to their own file (migrations, generated client) still hold.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [name, ...args] = process.argv.slice(2);
const entry = name ? join(root, "bench", name, "main.ts") : "";
if (!name || !existsSync(entry)) {
  console.error(`usage: node scripts/bench.mjs <name>  (a folder of bench/ with a main.ts${name ? `; bench/${name}/main.ts does not exist` : ""})`);
  process.exit(2);
}
const outfile = join(root, "bench", ".out", `${name}.mjs`);
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});

const child = spawn(process.execPath, [outfile, ...args], { stdio: "inherit" });
// The benches drop their scratch databases on SIGINT/SIGTERM (bench/support/cleanup.ts): pass them on.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
