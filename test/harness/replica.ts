/**
 * A real hot standby for read-replica tests: a private second PostgreSQL (second-postgres.ts) as
 * the primary, and a copy of it made with `pg_basebackup -R` (standby.signal + primary_conninfo),
 * started on a free port with `hot_standby=on`, streaming from the primary. Nothing of the main
 * server (127.0.0.1:5432) is touched: its config is not ours to change.
 *
 *   const replica = await startReplica("rr");   // primary: startSecondPostgres("rr")
 *   … create databases on replica.primary.adminUrl; they reach the standby by WAL replay …
 *   await replica.caughtUp();                    // the standby has replayed what the primary wrote
 *   afterAll(() => replica.stop());
 *
 * PostgreSQL 15's defaults already allow it (wal_level=replica, max_wal_senders=10, and initdb's
 * pg_hba.conf trusts replication connections from 127.0.0.1); startReplica checks the first two
 * and says what to change rather than failing in pg_basebackup.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { requireInjected } from "./context.js";
import { withDatabase } from "./postgres.js";
import { OWNER_ROLE, appUrlOf, ownerUrlOf } from "./roles.js";
import { TEST_DB_PREFIX, ensureTemplate, quoteIdent, writeScopeKey } from "./template.js";
import { baseDir, findBindir, freePort, isRoot, pgBin, startSecondPostgres, stopSecondPostgres, type SecondPostgres } from "./second-postgres.js";

const run = promisify(execFile);

export interface Replica {
  /** The primary it streams from (a private second PostgreSQL). */
  primary: SecondPostgres;
  /** Superuser URL of the standby's `postgres` database. */
  adminUrl: string;
  port: number;
  /** Resolves once the standby has replayed every WAL record the primary had written when called. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Stops WAL replay on the standby (it keeps serving reads of what it had): replication lag on demand. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Stops the standby and its primary and removes their files. */
  stop(): Promise<void>;
}

const STANDBY_SUFFIX = "standby";

async function one<T>(url: string, sql: string, params: unknown[] = []): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(sql, params);
    return rows[0] as T;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function assertCanStream(primaryUrl: string): Promise<void> {
  const row = await one<{ wal_level: string; senders: number }>(
    primaryUrl,
    "SELECT current_setting('wal_level') AS wal_level, current_setting('max_wal_senders')::int AS senders",
  );
  if (row.wal_level === "minimal" || row.senders < 1) {
    throw new Error(
      `Tests: the primary cannot feed a standby (wal_level=${row.wal_level}, max_wal_senders=${row.senders}); ` +
        "start it with -c wal_level=replica -c max_wal_senders=4.",
    );
  }
}

/** Starts a private primary named `instance` and a hot standby of it (once per run and name). */
export async function startReplica(instance = "replica"): Promise<Replica> {
  const runId = requireInjected("stratumRunId");
  const primary = await startSecondPostgres(instance);
  await assertCanStream(primary.adminUrl);
  const dir = baseDir(runId, `${instance}-${STANDBY_SUFFIX}`);
  const stateFile = join(dir, "state.json");
  const { adminUrl, port } = existsSync(stateFile)
    ? (JSON.parse(readFileSync(stateFile, "utf8")) as { adminUrl: string; port: number })
    : await makeStandby(dir, primary);
  return {
    primary,
    adminUrl,
    port,
    caughtUp: (timeoutMs = 30_000) => caughtUp(primary.adminUrl, adminUrl, timeoutMs),
    pauseReplay: async () => void (await one(adminUrl, "SELECT pg_wal_replay_pause()")),
    resumeReplay: async () => void (await one(adminUrl, "SELECT pg_wal_replay_resume()")),
    async stop() {
      await stopSecondPostgres(runId, `${instance}-${STANDBY_SUFFIX}`);
      await stopSecondPostgres(runId, instance);
    },
  };
}

async function makeStandby(dir: string, primary: SecondPostgres): Promise<{ adminUrl: string; port: number }> {
  const bindir = await findBindir();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dataDir = join(dir, "data");
  if (isRoot()) {
    const { stdout: uid } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(uid.trim()), Number(gid.trim()));
  }
  // -R: standby.signal and primary_conninfo, so the copy starts as a standby of its source.
  await pgBin(bindir, "pg_basebackup", [
    "-h",
    "127.0.0.1",
    "-p",
    String(primary.port),
    "-U",
    "postgres",
    "-D",
    dataDir,
    "-R",
    "-X",
    "stream",
    "-c",
    "fast",
    "--no-sync",
  ]);
  const port = await freePort();
  // A standby needs max_connections at least the primary's (60, second-postgres.ts).
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c hot_standby=on -c fsync=off -c max_connections=60`;
  await pgBin(bindir, "pg_ctl", ["-D", dataDir, "-l", join(dir, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const { standby } = await one<{ standby: boolean }>(adminUrl, "SELECT pg_is_in_recovery() AS standby");
  if (!standby) throw new Error(`Tests: the copy at ${adminUrl} started as a primary, not a standby (standby.signal missing?)`);
  // Same shape as second-postgres.ts's state, so stopSecondPostgres stops it too.
  writeFileSync(join(dir, "state.json"), JSON.stringify({ adminUrl, port, dataDir, bindir }));
  return { adminUrl, port };
}

/**
 * Waits for the standby's replay position to pass the primary's current WAL position: the event
 * the test needs, polled on the standby (PostgreSQL 15 has no wait-for-LSN function).
 */
async function caughtUp(primaryUrl: string, standbyUrl: string, timeoutMs: number): Promise<void> {
  const { lsn } = await one<{ lsn: string }>(primaryUrl, "SELECT pg_current_wal_insert_lsn()::text AS lsn");
  const client = new pg.Client({ connectionString: standbyUrl });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done", [lsn]);
      if ((rows[0] as { done: boolean }).done) return;
      if (Date.now() > deadline) throw new Error(`Tests: the standby did not replay up to ${lsn} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface ReplicaDatabase {
  name: string;
  /** On the primary: superuser, owner (`stratum_owner`) and app role (`stratum_app`). */
  adminUrl: string;
  ownerUrl: string;
  appUrl: string;
}

/**
 * A migrated stratum database on the replica's primary (the run's template is on the main server,
 * which a standby of this primary cannot see), with `scopeKey` installed. It reaches the standby
 * by WAL replay like anything else written on the primary; the instance is private, so it goes
 * with `stop()`.
 */
export async function replicaDatabase(replica: Replica, scopeKey: string): Promise<ReplicaDatabase> {
  const template = await ensureTemplate(replica.primary.adminUrl);
  const name = `${TEST_DB_PREFIX}replica_${randomBytes(4).toString("hex")}`;
  await one(replica.primary.adminUrl, `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)} OWNER ${OWNER_ROLE}`);
  // Not copied from the template: revoke again what the security migration revokes.
  await one(replica.primary.adminUrl, `REVOKE TEMPORARY ON DATABASE ${quoteIdent(name)} FROM PUBLIC`);
  const ownerUrl = withDatabase(ownerUrlOf(replica.primary.adminUrl), name);
  await writeScopeKey(ownerUrl, scopeKey);
  return {
    name,
    adminUrl: withDatabase(replica.primary.adminUrl, name),
    ownerUrl,
    appUrl: withDatabase(appUrlOf(replica.primary.adminUrl), name),
  };
}
