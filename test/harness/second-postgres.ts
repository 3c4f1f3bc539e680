/**
 * A second PostgreSQL instance for database-per-tenant tests on "another server": `initdb` +
 * `pg_ctl` into a temp dir, trust auth, 127.0.0.1 only, on a free port. Started lazily by the
 * first test that asks, shared by every worker of the run (a lock dir serialises the start), and
 * stopped by globalSetup's teardown (`stopSecondPostgres`). As root, the binaries run as the
 * `postgres` OS user (initdb refuses root) in a directory that user owns.
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { requireInjected } from "./context.js";
import { probePostgres } from "./postgres.js";
import { ensureRoles } from "./roles.js";

const run = promisify(execFile);

export interface SecondPostgres {
  /** Superuser URL of its `postgres` database. */
  adminUrl: string;
  port: number;
}

interface State extends SecondPostgres {
  dataDir: string;
  bindir: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `instance` names a private server (a test that restarts one must not disturb the shared one). */
export function baseDir(runId: string, instance = ""): string {
  return join(tmpdir(), `stratum-pg2-${`${runId}${instance ? `-${instance}` : ""}`.replace(/[^a-zA-Z0-9_-]/g, "")}`);
}

export async function findBindir(): Promise<string> {
  for (const candidate of [process.env.STRATUM_PG_BINDIR, "/usr/lib/postgresql/15/bin"]) {
    if (candidate && existsSync(join(candidate, "initdb"))) return candidate;
  }
  try {
    const { stdout } = await run("pg_config", ["--bindir"]);
    const dir = stdout.trim();
    if (existsSync(join(dir, "initdb"))) return dir;
  } catch {
    // fall through
  }
  throw new Error(
    "Tests: startSecondPostgres needs PostgreSQL server binaries (initdb, pg_ctl): install postgresql-15 " +
      "(apt-get install postgresql-15) or set STRATUM_PG_BINDIR to their directory.",
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const isRoot = (): boolean => userInfo().uid === 0;

/** Runs a PostgreSQL binary, as the `postgres` OS user when we are root. */
export async function pgBin(bindir: string, binary: string, args: string[]): Promise<string> {
  const command = isRoot() ? "runuser" : join(bindir, binary);
  const argv = isRoot() ? ["-u", "postgres", "--", join(bindir, binary), ...args] : args;
  try {
    const { stdout } = await run(command, argv, { timeout: 120_000 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`Tests: ${binary} ${args.join(" ")} failed: ${e.stderr || e.message}`);
  }
}

function readState(dir: string): State | null {
  const file = join(dir, "state.json");
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, "utf8")) as State;
}

/** Starts (once per run) and returns the second PostgreSQL, or a private one named `instance`. */
export async function startSecondPostgres(instance = ""): Promise<SecondPostgres> {
  const dir = baseDir(requireInjected("stratumRunId"), instance);
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const state = readState(dir);
    if (state && (await probePostgres(state.adminUrl, 2000)) === null) return { adminUrl: state.adminUrl, port: state.port };
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      // a stale lock from a crashed worker
      if (Date.now() - statSync(lock).mtimeMs > 150_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`Tests: timed out waiting for another worker to start the second PostgreSQL (${lock})`);
      await sleep(250);
    }
  }
  try {
    const existing = readState(dir);
    if (existing && (await probePostgres(existing.adminUrl, 2000)) === null) return { adminUrl: existing.adminUrl, port: existing.port };
    const bindir = await findBindir();
    rmSync(dir, { recursive: true, force: true });
    const dataDir = join(dir, "data");
    mkdirSync(dataDir, { recursive: true });
    if (isRoot()) {
      const { stdout } = await run("id", ["-u", "postgres"]);
      const { stdout: gid } = await run("id", ["-g", "postgres"]);
      for (const path of [dir, dataDir]) chownSync(path, Number(stdout.trim()), Number(gid.trim()));
    }
    await pgBin(bindir, "initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60`;
      try {
        await pgBin(bindir, "pg_ctl", ["-D", dataDir, "-l", join(dir, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
      } catch (error) {
        lastError = error;
        continue;
      }
      const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
      await ensureRoles(adminUrl);
      const state: State = { adminUrl, port, dataDir, bindir };
      writeFileSync(join(dir, "state.json"), JSON.stringify(state));
      return { adminUrl, port };
    }
    throw lastError instanceof Error ? lastError : new Error("Tests: could not start the second PostgreSQL");
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Restarts a private instance (fast shutdown: every connection is terminated, as in a failover),
 * waiting until it accepts connections again.
 */
export async function restartSecondPostgres(instance: string): Promise<void> {
  const dir = baseDir(requireInjected("stratumRunId"), instance);
  const state = readState(dir);
  if (!state) throw new Error(`Tests: no second PostgreSQL named ${instance} was started`);
  // With a log file, as at start: otherwise the new postmaster keeps pg_ctl's output pipes open.
  await pgBin(state.bindir, "pg_ctl", ["-D", state.dataDir, "-l", join(dir, "server.log"), "-m", "fast", "-w", "-t", "60", "restart"]);
}

/** Stops the run's second PostgreSQL (or the private `instance`) if it was started, and removes its files. */
export async function stopSecondPostgres(runId: string, instance = ""): Promise<void> {
  const dir = baseDir(runId, instance);
  const state = readState(dir);
  const dataDir = state?.dataDir ?? join(dir, "data");
  if (existsSync(join(dataDir, "postmaster.pid"))) {
    const bindir = state?.bindir ?? (await findBindir());
    await pgBin(bindir, "pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.lock`, { recursive: true, force: true });
}
