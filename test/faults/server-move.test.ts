/**
 * A DATABASE tenant moved live from one server to another (`setIsolation(id, "DATABASE",
 * { server })`), through the same journaled steps as a change of strategy (move.ts): readers and
 * a writer on two clients see every committed row throughout; a move stopped before each step —
 * with the target server restarted meanwhile (fast shutdown: every connection cut, as in a
 * failover) — resumes or rolls back with nothing lost and one home left.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStratumError, type Tenant } from "../../src/index.js";
import { homeDatabaseName } from "../../src/isolation/names.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { requireInjected } from "../harness/context.js";
import { withDatabase } from "../harness/postgres.js";
import { appUrlOf } from "../harness/roles.js";
import { restartSecondPostgres, startSecondPostgres, stopSecondPostgres } from "../harness/second-postgres.js";
import { codeOf } from "../support/errors.js";
import { stratumTestClient } from "../support/stratum-client.js";

/** A private instance: restarting it must not disturb other files' use of the shared one. */
const INSTANCE = "srvmove";
const SEED = 20;

type Client = ReturnType<typeof stratumTestClient>;
let db: TestDatabase;
let remoteAdmin: string;
let mover: Client;
let other: Client;
const tenants: Tenant[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ label: "server_move" });
  const remote = await startSecondPostgres(INSTANCE);
  remoteAdmin = remote.adminUrl;
  const servers = { remote: { appUrl: withDatabase(appUrlOf(remote.adminUrl), "postgres"), adminUrl: remote.adminUrl } };
  mover = stratumTestClient(db, { servers });
  // Another process: its own route cache, which the flip leaves stale (no change bus here).
  other = stratumTestClient(db, { servers });
}, 120_000);

afterAll(async () => {
  for (const t of tenants) await mover?.prisma.$stratum.deleteTenant(t.id, { cascade: true }).catch(() => undefined);
  await mover?.close().catch(() => undefined);
  await other?.close().catch(() => undefined);
  await db?.drop();
  await stopSecondPostgres(requireInjected("stratumRunId"), INSTANCE);
});

async function seeded(name: string): Promise<Tenant> {
  const tenant = await mover.prisma.$stratum.createTenant({ name, isolation_strategy: "DATABASE", server: "main" });
  tenants.push(tenant);
  const t = mover.prisma.$tenant(tenant.id);
  await t.user.createMany({ data: Array.from({ length: SEED }, (_, i) => ({ tenant_id: tenant.id, email: `u${i}@${tenant.slug}.test` })) });
  const first = await t.user.findFirstOrThrow({ orderBy: { email: "asc" } });
  await t.ticket.create({ data: { tenant_id: tenant.id, title: "first", author_id: first.id } });
  return tenant;
}

/** Whether the tenant's database exists on a server (superuser's view). */
async function databaseOn(server: "main" | "remote", tenant: Tenant): Promise<boolean> {
  const c = new pg.Client({ connectionString: server === "main" ? withDatabase(db.adminUrl, "postgres") : remoteAdmin });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return (await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [homeDatabaseName(tenant.id)])).rows.length === 1;
  } finally {
    await c.end();
  }
}

async function where(tenant: Tenant): Promise<string> {
  return (await mover.prisma.$stratum.getTenant(tenant.id)).placement!.split("/")[0]!;
}

describe("a live move to another server", () => {
  it("readers on both clients see every committed row throughout; every acknowledged write arrives", async () => {
    const tenant = await seeded("Server mover");
    let acked = 0;
    let reads = 0;
    let done = false;
    const problems: string[] = [];
    const read = async (c: Client) => {
      for (let i = 0; i < 5_000 && !done; i++) {
        const floor = SEED + acked;
        try {
          const seen = await c.prisma.$tenant(tenant.id).user.count();
          reads++;
          if (seen < floor) problems.push(`read ${seen} rows, ${floor} were committed before it started`);
        } catch (error) {
          problems.push(`read failed: ${String(error)}`);
        }
      }
    };
    const write = async () => {
      for (let i = 0; i < 5_000 && !done; i++) {
        try {
          await other.prisma.$tenant(tenant.id).user.create({ data: { tenant_id: tenant.id, email: `late${i}@x.test` } });
          acked++;
        } catch (error) {
          if (!isStratumError(error, "ISOLATION_MOVE_IN_PROGRESS")) problems.push(`write failed: ${String(error)}`);
        }
      }
    };
    expect(await other.prisma.$tenant(tenant.id).user.count()).toBe(SEED); // caches the route to main
    const load = Promise.all([read(mover), read(other), write()]);
    try {
      const result = await mover.prisma.$stratum.setIsolation(tenant.id, "DATABASE", { server: "remote" });
      expect(result).toMatchObject({
        moved: true,
        from: { strategy: "DATABASE" },
        to: { strategy: "DATABASE", placement: `remote/${homeDatabaseName(tenant.id)}` },
      });
      // A few more rounds on the new home, through the stale client too.
      for (let i = 0; i < 3; i++) await other.prisma.$tenant(tenant.id).user.count();
    } finally {
      done = true;
      await load;
    }
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect(await mover.prisma.$tenant(tenant.id).user.count()).toBe(SEED + acked);
    expect(await other.prisma.$tenant(tenant.id).user.count()).toBe(SEED + acked);
    expect(await mover.prisma.$tenant(tenant.id).ticket.count()).toBe(1);
    expect(await where(tenant)).toBe("remote");
    expect(await databaseOn("main", tenant)).toBe(false); // the old home is gone
    expect((await mover.prisma.$stratum.listIsolationMoves(tenant.id)).map((m) => m.step)).toEqual(["cleaned"]);
  }, 120_000);
});

describe("a move stopped before a step, the target server restarted meanwhile", () => {
  for (const at of ["copy", "flip", "clean"] as const) {
    it(`before "${at}": reads see every row, then resume finishes on the new server`, async () => {
      const tenant = await seeded(`Resume ${at}`);
      expect(await codeOf(mover.prisma.$stratum.setIsolation(tenant.id, "DATABASE", { server: "remote", interruptBefore: at }))).toBe("ISOLATION_MOVE_FAILED");
      await restartSecondPostgres(INSTANCE);
      // Before the flip the route names main; at "clean" it names remote, just restarted: a
      // connection the restart cut fails typed and the pool reconnects (a read is retried once).
      const count = () => mover.prisma.$tenant(tenant.id).user.count();
      expect(await count().catch((error: unknown) => (isStratumError(error, "CONNECTION_LOST") ? count() : Promise.reject(error)))).toBe(SEED);
      expect(await codeOf(mover.prisma.$stratum.setIsolation(tenant.id, "SHARED_RLS"))).toBe("ISOLATION_MOVE_IN_PROGRESS");
      await mover.prisma.$stratum.resumeIsolationMove(tenant.id);
      expect(await where(tenant)).toBe("remote");
      expect(await mover.prisma.$tenant(tenant.id).user.count()).toBe(SEED);
      expect(await other.prisma.$tenant(tenant.id).user.count()).toBe(SEED);
      expect(await databaseOn("main", tenant)).toBe(false);
    }, 120_000);
  }

  it('before "flip": rollback keeps the tenant on its old server and drops the copy', async () => {
    const tenant = await seeded("Rollback flip");
    await codeOf(mover.prisma.$stratum.setIsolation(tenant.id, "DATABASE", { server: "remote", interruptBefore: "flip" }));
    expect(await databaseOn("remote", tenant)).toBe(true);
    await restartSecondPostgres(INSTANCE);
    await mover.prisma.$stratum.rollbackIsolationMove(tenant.id);
    expect(await where(tenant)).toBe("main");
    expect(await mover.prisma.$tenant(tenant.id).user.count()).toBe(SEED);
    expect(await databaseOn("remote", tenant)).toBe(false);
    expect(await databaseOn("main", tenant)).toBe(true);
  }, 120_000);
});
