/**
 * Connections that die under the app: backends terminated by an admin (what a failover or a
 * restart does to every session) on pools of 1 and 10, inside and outside interactive
 * transactions, and a whole tenant server restarted under load. The process must not crash, a call
 * that loses its connection fails with CONNECTION_LOST (saying whether it may have committed), and
 * the pool heals: the next calls see every row.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStratumError, type Tenant } from "../../src/index.js";
import { attackClient, type AttackClient } from "../attacks/support.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { requireInjected } from "../harness/context.js";
import { withDatabase } from "../harness/postgres.js";
import { appUrlOf } from "../harness/roles.js";
import { waitFor } from "../support/wait.js";
import { restartSecondPostgres, startSecondPostgres, stopSecondPostgres } from "../harness/second-postgres.js";

const INSTANCE = "restart";
const USERS = 12;

let db: TestDatabase;
let admin: pg.Pool;
let clients: { pool10: AttackClient; pool1: AttackClient };
let shared: Tenant;
let schema: Tenant;
let remote: Tenant;

beforeAll(async () => {
  db = await createTestDatabase({ label: "conn_lost" });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const server = await startSecondPostgres(INSTANCE);
  const servers = { [INSTANCE]: { adminUrl: server.adminUrl, appUrl: withDatabase(appUrlOf(server.adminUrl), "postgres") } };
  clients = {
    pool10: attackClient(db, { poolSize: 10, servers }),
    pool1: attackClient(db, { poolSize: 1, tenantPoolSize: 1, servers }),
  };
  const p = clients.pool10.prisma;
  shared = await p.$stratum.createTenant({ name: "Lost Shared" });
  schema = await p.$stratum.createTenant({ name: "Lost Schema", isolation_strategy: "SCHEMA" });
  remote = await p.$stratum.createTenant({ name: "Lost Remote", isolation_strategy: "DATABASE", server: INSTANCE });
  for (const t of [shared, schema, remote]) {
    await p.$tenant(t.id).user.createMany({ data: Array.from({ length: USERS }, (_, i) => ({ tenant_id: t.id, email: `u${i}@lost.test` })) });
  }
});

afterAll(async () => {
  await clients?.pool10.prisma.$stratum.deleteTenant(remote.id).catch(() => undefined);
  await clients?.pool10.close().catch(() => undefined);
  await clients?.pool1.close().catch(() => undefined);
  await admin?.end().catch(() => undefined);
  await db?.drop();
  await stopSecondPostgres(requireInjected("stratumRunId"), INSTANCE);
});

/** Terminates every app-role backend of the test database (stratum's and the app's alike); their pids. */
async function terminateAppBackends(): Promise<number[]> {
  // In the select list, so it runs only on the rows the WHERE kept (a qual could run first).
  const { rows } = await admin.query(
    "SELECT pid, pg_terminate_backend(pid) AS signalled FROM pg_stat_activity WHERE datname = $1 AND usename = 'stratum_app'",
    [db.name],
  );
  return rows.filter((r) => r.signalled).map((r) => r.pid as number);
}

/**
 * pg_terminate_backend only signals: a backend on a busy machine may be scheduled, and answer a
 * statement with its FATAL, well after the call returned. The fault is over once they are gone.
 */
function backendsGone(pids: number[]): Promise<boolean> {
  return waitFor(`terminated backends ${pids.join(", ")} to exit`, async () => {
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])", [pids]);
    return rows[0].n === 0;
  });
}

type Outcome = "ok" | string;

/**
 * CONNECTION_LOST saying the statement may have committed: one outside a transaction, or a COMMIT
 * (the server may have carried it out before the break; the client cannot know).
 */
const LOST_MAYBE_COMMITTED = "CONNECTION_LOST (may have committed)";
const LOST = new Set(["CONNECTION_LOST", LOST_MAYBE_COMMITTED]);

function outcome(error: unknown): Outcome {
  if (isStratumError(error, "CONNECTION_LOST") && error.details?.["mayHaveCommitted"] === true) return LOST_MAYBE_COMMITTED;
  if (isStratumError(error)) return error.code;
  const e = error as { code?: unknown; message?: unknown };
  return `not typed: ${String(e?.code ?? "")} ${String(e?.message ?? error).slice(0, 200)}`;
}

/** Runs `rounds` batches of `work`, terminating the backends while each batch is in flight. */
async function storm(work: () => Promise<unknown>, rounds = 4, perRound = 12): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const terminated: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const batch = Array.from({ length: perRound }, () => work().then(() => "ok" as const, outcome));
    terminated.push(...(await terminateAppBackends()));
    outcomes.push(...(await Promise.all(batch)));
  }
  // The fault happened: connections (busy, idle or still connecting) were killed under the pool.
  expect(terminated.length).toBeGreaterThan(0);
  await backendsGone(terminated);
  return outcomes;
}

describe.each(["pool10", "pool1"] as const)("backends terminated under load (%s)", (which) => {
  it.each([
    ["SHARED_RLS", () => shared],
    ["SCHEMA", () => schema],
  ] as const)("%s reads: lost calls fail with CONNECTION_LOST, the pool heals", async (_strategy, tenant) => {
    const t = clients[which].prisma.$tenant(tenant().id);
    const outcomes = await storm(() => t.user.findMany());
    expect(outcomes.filter((o) => o !== "ok" && !LOST.has(o))).toEqual([]);
    expect(await t.user.count()).toBe(USERS);
  });

  it("interactive transactions: lost ones fail typed and commit nothing, the pool heals", async () => {
    const t = clients[which].prisma.$tenant(shared.id);
    const before = await t.user.count();
    const outcomes = await storm(() =>
      t.$transaction(async (tx) => {
        await tx.user.create({ data: { tenant_id: shared.id, email: `tx-${Math.random().toString(36).slice(2)}@lost.test` } });
        return tx.user.findMany();
      }),
    );
    const committed = outcomes.filter((o) => o === "ok").length;
    const unknown = outcomes.filter((o) => o === LOST_MAYBE_COMMITTED).length;
    expect(outcomes.filter((o) => o !== "ok" && !LOST.has(o))).toEqual([]);
    // Every transaction that reported success committed; one lost mid-transaction committed
    // nothing; only one lost under its COMMIT — reported as may-have-committed — may have.
    const count = await t.user.count();
    expect(count).toBeGreaterThanOrEqual(before + committed);
    expect(count).toBeLessThanOrEqual(before + committed + unknown);
    await t.user.deleteMany({ where: { email: { startsWith: "tx-" } } });
  });
});

it("a tenant's server restarted under load: reads in flight fail typed, then see every row", async () => {
  const t = clients.pool10.prisma.$tenant(remote.id);
  expect(await t.user.count()).toBe(USERS);
  let restarted = false;
  const outcomes: Outcome[] = [];
  const reader = async () => {
    // Bounded: reads go on until the restart is over and one more read has been answered.
    for (let i = 0; i < 2_000; i++) {
      const done = restarted;
      outcomes.push(await t.user.findMany().then(() => "ok" as const, outcome));
      if (done) return;
    }
  };
  const readers = Array.from({ length: 4 }, reader);
  await restartSecondPostgres(INSTANCE);
  restarted = true;
  await Promise.all(readers);
  expect(outcomes.filter((o) => o !== "ok" && !LOST.has(o))).toEqual([]);
  expect(await t.user.count()).toBe(USERS);
}, 120_000);
