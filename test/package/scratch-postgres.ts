/**
 * A PostgreSQL server of the test's own (`initdb` + `pg_ctl`, trust auth, 127.0.0.1, a free port),
 * so the README's commands run as a new user's would: they create roles (`myapp_owner`) and give
 * `stratum_app` a password, which must not touch the shared server other tests log in to. As root,
 * the binaries run as the `postgres` OS user (initdb refuses root).
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ScratchPostgres {
  port: number;
  /** Superuser URL of the `postgres` database. */
  adminUrl: string;
  bindir: string;
  stop(): Promise<void>;
}

async function bindir(): Promise<string> {
  for (const candidate of [process.env.STRATUM_PG_BINDIR, "/usr/lib/postgresql/15/bin"]) {
    if (candidate && existsSync(join(candidate, "initdb"))) return candidate;
  }
  const { stdout } = await run("pg_config", ["--bindir"]);
  return stdout.trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

const isRoot = (): boolean => userInfo().uid === 0;

async function pgBin(dir: string, binary: string, args: string[]): Promise<void> {
  const command = isRoot() ? "runuser" : join(dir, binary);
  const argv = isRoot() ? ["-u", "postgres", "--", join(dir, binary), ...args] : args;
  await run(command, argv, { timeout: 120_000 });
}

export async function startScratchPostgres(): Promise<ScratchPostgres> {
  const bin = await bindir();
  const dir = mkdtempSync(join(tmpdir(), "stratum-tarball-pg-"));
  const dataDir = join(dir, "data");
  mkdirSync(dataDir);
  if (isRoot()) {
    const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
    const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
    for (const path of [dir, dataDir]) chownSync(path, uid, gid);
  }
  await pgBin(bin, "initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c max_connections=60`;
  await pgBin(bin, "pg_ctl", ["-D", dataDir, "-l", join(dir, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
  return {
    port,
    adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    bindir: bin,
    async stop() {
      await pgBin(bin, "pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
