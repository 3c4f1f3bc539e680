/**
 * A real PgBouncer in transaction mode in front of the test PostgreSQL, the way Supabase, Neon's
 * pooled endpoints and most self-hosted fleets serve Prisma apps. Debian's `pgbouncer` package
 * (installed by .ci/run); started once per test file on a free port, as the postgres user (it
 * refuses to run as root), and stopped by the returned `stop`.
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

export interface PgBouncer {
  port: number;
  /** `url` with host and port replaced by the bouncer's (the database and user stay). */
  through(url: string): string;
  stop(): Promise<void>;
}

const BINARY = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((path) => existsSync(path));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function startPgBouncer(target: { host: string; port: number }): Promise<PgBouncer> {
  if (!BINARY) {
    throw new Error("Tests: PgBouncer is not installed: apt-get install pgbouncer (.ci/run does it on CI).");
  }
  const dir = mkdtempSync(join(tmpdir(), "stratum-pgbouncer-"));
  const port = await freePort();
  writeFileSync(join(dir, "userlist.txt"), ['"stratum_app" "stratum_app"', '"stratum_owner" "stratum_owner"', '"postgres" ""'].join("\n"));
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${target.host} port=${target.port}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      "auth_type = trust",
      `auth_file = ${join(dir, "userlist.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 500",
      "default_pool_size = 8",
      "ignore_startup_parameters = extra_float_digits,options,search_path",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      `pidfile = ${join(dir, "pgbouncer.pid")}`,
    ].join("\n"),
  );
  const root = userInfo().uid === 0;
  if (root) {
    const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
    const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
    for (const file of ["", "pgbouncer.ini", "userlist.txt"]) chownSync(join(dir, file), uid, gid);
  }
  const args = ["-d", join(dir, "pgbouncer.ini")];
  await (root ? run("runuser", ["-u", "postgres", "--", BINARY, ...args]) : run(BINARY, args));
  const probe = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: probe });
    try {
      await client.connect();
      await client.query("SELECT 1");
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (attempt >= 100) throw new Error(`Tests: PgBouncer did not answer on ${port}: ${String(error)}; log: ${join(dir, "pgbouncer.log")}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port,
    through(url: string): string {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    async stop() {
      const pidFile = join(dir, "pgbouncer.pid");
      if (existsSync(pidFile)) {
        try {
          process.kill(Number(readFileSync(pidFile, "utf8").trim()), "SIGTERM");
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
