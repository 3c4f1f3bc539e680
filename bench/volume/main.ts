/**
 * bench:volume — does a tenant's query cost depend on other tenants' rows, and does the MSP view
 * scale with its subtree? In one run:
 *
 * 1. tenant-shapes.ts: one SHARED_RLS tenant in 1,000,000 rows vs 10,000, scoped vs unscoped;
 * 2. subtree-shared.ts: the descendants view over 1,000 SHARED_RLS clients, with and without
 *    1,000,000 rows of other tenants in the table;
 * 3. subtree-schemas.ts: the descendants view over BENCH_HOMES SCHEMA clients (default 1,000).
 *
 *   npm run bench:volume                       # about 20–25 minutes on 2 busy cores
 *   BENCH_ROWS=200000 BENCH_HOMES=200 …        # smaller
 *   BENCH_HOMES=0 …                            # skip part 3
 *
 * Set-up as the owner/superuser, fast: tenants and rows by INSERT … SELECT generate_series (the
 * tenant triggers compute paths and sign tokens); SCHEMA clients through `$stratum.createTenant`.
 * The scratch databases are dropped at the end, also on failure. The load average is printed at
 * the start and end of every part: absolute times on a busy machine mean little; ratios measured
 * in the same run, interleaved, do.
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { setHomeBatchSize, DEFAULT_HOME_BATCH } from "../../src/isolation/descendants.js";
import { ensureRoles } from "../../test/harness/roles.js";
import { ADMIN_URL, type Cleanups, env, log, withClient } from "./setup.js";
import { schemaSubtree } from "./subtree-schemas.js";
import { sharedSubtree } from "./subtree-shared.js";
import { tenantVolume } from "./tenant-shapes.js";

const HOMES = env("BENCH_HOMES", 1_000);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

async function main(): Promise<void> {
  const started = performance.now();
  const scopeKey = randomBytes(32).toString("hex");
  const cleanups: Cleanups = [];
  const out: string[] = [];
  const part = async (title: string, fn: () => Promise<string[]>) => {
    const before = load();
    const lines = await fn();
    out.push(`${title} (load average ${before} → ${load()})`, "", ...lines, "");
    // Printed as each part ends: an interrupted run keeps what it measured.
    log(`\n${out.slice(-lines.length - 3).join("\n")}`);
  };
  try {
    await ensureRoles(ADMIN_URL);
    setHomeBatchSize(DEFAULT_HOME_BATCH);
    const version = await withClient(ADMIN_URL, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v);
    let volume: Awaited<ReturnType<typeof tenantVolume>> | undefined;
    await part("One tenant at volume", async () => {
      volume = await tenantVolume(scopeKey, cleanups);
      return volume.lines;
    });
    await part("Descendants view, SHARED_RLS clients", () => sharedSubtree(scopeKey, cleanups, volume!.big, volume!.bigClients));
    if (HOMES > 0) await part("Descendants view, SCHEMA clients", () => schemaSubtree(scopeKey, cleanups));
    console.log(
      [
        `Node ${process.version}, PostgreSQL ${version}, ${cpus().length} cores (nproc); load average per part below; paths interleaved call by call where compared.`,
        "",
        ...out,
        `Total run time ${((performance.now() - started) / 1000).toFixed(0)} s.`,
      ].join("\n"),
    );
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
  }
}

await main();
