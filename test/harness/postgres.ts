/**
 * Where the tests' PostgreSQL is: `DATABASE_URL` (a superuser URL), else 127.0.0.1:5432 if it
 * answers, else a Testcontainers PostgreSQL when a Docker engine answers, else an Error that says
 * what to start. Never a silent skip.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export const LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test";

export interface PostgresTarget {
  /** Superuser URL of an existing database (the admin database). */
  adminUrl: string;
  source: "DATABASE_URL" | "local" | "testcontainers";
  /** Stops what this module started (a container); a no-op otherwise. */
  stop(): Promise<void>;
}

/** `url` with another database name. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** `url` as another user (password optional: trust auth ignores it). */
export function withUser(url: string, user: string, password?: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = password ? encodeURIComponent(password) : "";
  return u.toString();
}

/** Why `url` does not answer, or null when it does. */
export async function probePostgres(url: string, timeoutMs = 3000): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True when some Docker engine endpoint is configured or present. */
export function dockerEngineConfigured(): boolean {
  if (process.env.DOCKER_HOST) return true;
  const sockets = ["/var/run/docker.sock", join(homedir(), ".docker", "run", "docker.sock")];
  if (process.env.XDG_RUNTIME_DIR) sockets.push(join(process.env.XDG_RUNTIME_DIR, "docker.sock"));
  return sockets.some((s) => existsSync(s));
}

export const START_POSTGRES_HELP =
  "Start one of: the local cluster (`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, " +
  "then it answers at 127.0.0.1:5432 with trust auth and a `test` database), `docker compose up -d postgres` " +
  "(then DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:5432/test), or set DATABASE_URL to a superuser URL.";

export async function resolvePostgres(): Promise<PostgresTarget> {
  const noop = async (): Promise<void> => undefined;
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    const problem = await probePostgres(fromEnv);
    if (problem) throw new Error(`Tests: DATABASE_URL does not answer (${problem}). ${START_POSTGRES_HELP}`);
    await requireSuperuser(fromEnv);
    return { adminUrl: fromEnv, source: "DATABASE_URL", stop: noop };
  }
  const localProblem = await probePostgres(LOCAL_POSTGRES_URL);
  if (!localProblem) {
    await requireSuperuser(LOCAL_POSTGRES_URL);
    return { adminUrl: LOCAL_POSTGRES_URL, source: "local", stop: noop };
  }
  if (dockerEngineConfigured()) {
    try {
      const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
      const container = await new PostgreSqlContainer("postgres:16").withDatabase("test").withUsername("postgres").withPassword("postgres").start();
      return { adminUrl: container.getConnectionUri(), source: "testcontainers", stop: async () => void (await container.stop()) };
    } catch (error) {
      throw new Error(
        `Tests: no PostgreSQL at 127.0.0.1:5432 (${localProblem}) and Testcontainers could not start one ` +
          `(${error instanceof Error ? error.message : String(error)}). ${START_POSTGRES_HELP}`,
      );
    }
  }
  throw new Error(
    `Tests: no PostgreSQL. DATABASE_URL is not set, 127.0.0.1:5432 does not answer (${localProblem}), and no Docker engine answers for Testcontainers. ${START_POSTGRES_HELP}`,
  );
}

async function requireSuperuser(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ rolsuper: boolean; rolname: string }>("SELECT rolsuper, rolname FROM pg_roles WHERE rolname = current_user");
    if (!rows[0]?.rolsuper) {
      throw new Error(
        `Tests: ${rows[0]?.rolname ?? "the DATABASE_URL user"} is not a superuser; the harness creates roles and databases. ${START_POSTGRES_HELP}`,
      );
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
