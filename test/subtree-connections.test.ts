/**
 * Descendants reads across SCHEMA homes run on the adapter's subtree connections, not on every
 * connection of the main pool: such a statement's plan costs PostgreSQL tens of milliseconds per
 * connection that runs it (seconds for a thousand homes), so spreading the reads over a pool of N
 * connections pays that N times. Observed from pg_stat_activity, by each client's
 * application_name: which server processes last ran a statement across the homes.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStratumError, type Tenant } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let setup: ReturnType<typeof stratumTestClient>;
let msp: Tenant;
const HOMES = 6;

beforeAll(async () => {
  db = await createTestDatabase({ label: "subtree_conns" });
  setup = stratumTestClient(db, { poolSize: 2 });
  msp = await setup.prisma.$stratum.createTenant({ name: "Conns MSP" });
  for (let i = 0; i < HOMES; i++) {
    const t = await setup.prisma.$stratum.createTenant({ name: `Conns Client ${i}`, parent_id: msp.id, isolation_strategy: "SCHEMA" });
    const user = await setup.prisma.$tenant(t.id).user.create({ data: { tenant_id: t.id, email: `owner@${t.slug}.test` } });
    await setup.prisma.$tenant(t.id).ticket.create({ data: { tenant_id: t.id, author_id: user.id, title: `ticket of ${i}` } });
  }
}, 120_000);

afterAll(async () => {
  await setup?.close();
  await db?.drop();
});

/** Server processes of `applicationName` whose last statement matches `like` (by default: read across the homes, a UNION ALL of the subtree). */
async function processesLastRunning(applicationName: string, like = "%UNION ALL%"): Promise<number[]> {
  const c = new pg.Client({ connectionString: db.adminUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND query LIKE $2 ORDER BY pid",
      [applicationName, like],
    );
    return rows.map((r) => r.pid);
  } finally {
    await c.end();
  }
}

/** A client with a main pool of 4, 12 concurrent descendants counts of `root`'s subtree through it; the processes that ran them. */
async function concurrentCounts(applicationName: string, subtreeConnections?: number, root = () => msp) {
  const client = stratumTestClient(db, { poolSize: 4, applicationName, ...(subtreeConnections === undefined ? {} : { subtreeConnections }) });
  const view = () => client.prisma.$tenant(root().id, { descendants: true });
  const counts = await Promise.all(Array.from({ length: 12 }, () => view().ticket.count()));
  return { client, view, counts, pids: await processesLastRunning(applicationName) };
}

describe("subtree connections", () => {
  it("spread over the main pool, a subtree's reads are planned on several connections (the cost the subtree connections remove)", async () => {
    const { client, counts, pids } = await concurrentCounts("stratum_spread", 0);
    try {
      expect(counts).toEqual(Array(12).fill(HOMES));
      expect(pids.length).toBeGreaterThan(1);
    } finally {
      await client.close();
    }
  });

  it("run a subtree's reads on one subtree connection when given one, answering every concurrent caller", async () => {
    const { client, counts, pids } = await concurrentCounts("stratum_subtree_one", 1);
    try {
      expect(counts).toEqual(Array(12).fill(HOMES));
      expect(pids).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it("leave a subtree in one home (one view, cheap to plan) on the main pool", async () => {
    const shared = await setup.prisma.$stratum.createTenant({ name: "Conns Shared MSP" });
    for (let i = 0; i < 2; i++) {
      const t = await setup.prisma.$stratum.createTenant({ name: `Conns Shared Client ${i}`, parent_id: shared.id });
      const user = await setup.prisma.$tenant(t.id).user.create({ data: { tenant_id: t.id, email: `owner@${t.slug}.test` } });
      await setup.prisma.$tenant(t.id).ticket.create({ data: { tenant_id: t.id, author_id: user.id, title: `shared ticket of ${i}` } });
    }
    const { client, counts } = await concurrentCounts("stratum_one_home", 1, () => shared);
    try {
      expect(counts).toEqual(Array(12).fill(2));
      expect((await processesLastRunning("stratum_one_home", "%stratum_d_tickets%")).length).toBeGreaterThan(1);
    } finally {
      await client.close();
    }
  });

  it("heal when their server process is terminated: the next read answers or fails with CONNECTION_LOST, the one after answers", async () => {
    const { client, view, pids } = await concurrentCounts("stratum_subtree_killed", 1);
    try {
      expect(pids).toHaveLength(1);
      const admin = new pg.Client({ connectionString: db.adminUrl });
      await admin.connect();
      await admin.query("SELECT pg_terminate_backend($1)", [pids[0]]);
      await admin.end();
      const next = await view()
        .ticket.count()
        .catch((e: unknown) => e);
      if (typeof next !== "number") expect(isStratumError(next) && next.code).toBe("CONNECTION_LOST");
      else expect(next).toBe(HOMES);
      expect(await view().ticket.count()).toBe(HOMES);
      const now = await processesLastRunning("stratum_subtree_killed");
      expect(now).toHaveLength(1);
      expect(now).not.toContain(pids[0]);
    } finally {
      await client.close();
    }
  });

  it("default to two, and leave raw statements across homes on the main pool (their session reset would drop the subtree's plans)", async () => {
    const { client, view, counts, pids } = await concurrentCounts("stratum_subtree_default");
    try {
      expect(counts).toEqual(Array(12).fill(HOMES));
      expect(pids.length).toBeGreaterThanOrEqual(1);
      expect(pids.length).toBeLessThanOrEqual(2);
      const [raw] = await view().$queryRawUnsafe<Array<{ pid: number }>>("SELECT pg_catalog.pg_backend_pid() AS pid");
      expect(pids).not.toContain(raw!.pid);
      // The subtree connections are still the ones that served reads, with their plans.
      expect(await view().ticket.count()).toBe(HOMES);
      const after = await processesLastRunning("stratum_subtree_default");
      expect(after.every((pid) => pids.includes(pid))).toBe(true);
    } finally {
      await client.close();
    }
  });
});
