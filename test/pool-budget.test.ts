/**
 * DATABASE tenants on two real servers under a connection budget (tenant-pools.ts): the cap per
 * server holds under concurrent load, counted by PostgreSQL itself (pg_stat_activity), and a pool
 * with a statement in flight is never closed to make room — the next tenant waits for it instead,
 * or fails with CONNECTION_BUDGET_EXHAUSTED once its wait runs out. The stand-in version of the
 * same rules is test/pool-budget-unit.test.ts.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStratumError, type Tenant } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { withDatabase } from "./harness/postgres.js";
import { appUrlOf } from "./harness/roles.js";
import { startSecondPostgres } from "./harness/second-postgres.js";
import { stratumTestClient, type TestClientOptions } from "./support/stratum-client.js";
import { waitFor } from "./support/wait.js";

type Client = ReturnType<typeof stratumTestClient>;
const USERS = 5;

let db: TestDatabase;
let secondAdminUrl: string;
let servers: NonNullable<TestClientOptions["servers"]>;
let setup: Client;
const clients: Client[] = [];
const tenants: Tenant[] = [];

const adminUrlOf = (server: string) => (server === "main" ? withDatabase(db.adminUrl, "postgres") : secondAdminUrl);
const databaseOf = (t: Tenant) => t.placement!.split("/")[1]!;
const serverOf = (t: Tenant) => t.placement!.split("/")[0]!;

function client(tenantPools: TestClientOptions["tenantPools"]): Client {
  const made = stratumTestClient(db, { servers, tenantPools });
  clients.push(made);
  return made;
}

/** Creates and seeds DATABASE tenants, then closes the seeding client's pools (PostgreSQL counts only the client under test). */
async function createTenants(names: string[], serverOfIndex: (i: number) => string): Promise<Tenant[]> {
  const seeder = stratumTestClient(db, { servers, tenantPools: { connectionBudget: { connections: 4 } } });
  try {
    const made: Tenant[] = [];
    for (const [i, name] of names.entries()) {
      const tenant = await seeder.prisma.$stratum.createTenant({ name, isolation_strategy: "DATABASE", server: serverOfIndex(i) });
      tenants.push(tenant);
      made.push(tenant);
      await seeder.prisma
        .$tenant(tenant.id)
        .user.createMany({ data: Array.from({ length: USERS }, (_, u) => ({ tenant_id: tenant.id, email: `u${u}@${tenant.slug}.test` })) });
    }
    return made;
  } finally {
    await seeder.close();
  }
}

async function withAdmin<T>(server: string, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: withDatabase(adminUrlOf(server), database) });
  c.on("error", () => undefined); // a DROP DATABASE … FORCE elsewhere must not crash the run
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** App-role backends PostgreSQL lists in these tenants' databases, per server. */
async function appBackends(group: Tenant[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const server of new Set(group.map(serverOf))) {
    const names = group.filter((t) => serverOf(t) === server).map(databaseOf);
    out[server] = await withAdmin(server, "postgres", async (c) => {
      const { rows } = await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'stratum_app' AND datname = ANY($1)", [names]);
      return (rows[0] as { n: number }).n;
    });
  }
  return out;
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "pool_budget" });
  const second = await startSecondPostgres();
  secondAdminUrl = second.adminUrl;
  servers = { second: { appUrl: appUrlOf(second.adminUrl), adminUrl: second.adminUrl } };
  setup = client({ connectionBudget: { connections: 1 } }); // creates and deletes only: no tenant pool
}, 120_000);

afterAll(async () => {
  for (const t of tenants) await setup?.prisma.$stratum.deleteTenant(t.id, { cascade: true }).catch(() => undefined);
  for (const c of clients) await c.close().catch(() => undefined);
  await db?.drop();
});

describe("the cap per server under concurrent load", () => {
  let fleet: Tenant[];
  beforeAll(async () => {
    fleet = await createTenants(
      Array.from({ length: 8 }, (_, i) => `Budget ${i}`),
      (i) => (i % 2 === 0 ? "main" : "second"),
    );
  }, 180_000);

  /** 6 waves of 16 concurrent reads over the 8 tenants, sampling PostgreSQL's own count meanwhile. */
  async function load(c: Client): Promise<{ peak: Record<string, number>; counts: number[] }> {
    const peak: Record<string, number> = { main: 0, second: 0 };
    let done = false;
    const sampler = (async () => {
      while (!done) {
        for (const [server, n] of Object.entries(await appBackends(fleet))) peak[server] = Math.max(peak[server] ?? 0, n);
      }
    })();
    const counts: number[] = [];
    try {
      for (let wave = 0; wave < 6; wave++) {
        const reads = Array.from({ length: 16 }, (_, i) => c.prisma.$tenant(fleet[(i * 3 + wave) % fleet.length]!.id).user.findMany());
        counts.push(...(await Promise.all(reads)).map((rows) => rows.length));
      }
    } finally {
      done = true;
      await sampler;
    }
    return { peak, counts };
  }

  it("without a tight budget the same load opens more than 3 connections on a server", async () => {
    const loose = client({ connectionBudget: { connections: 50 }, poolSize: 2 });
    const { peak, counts } = await load(loose);
    expect(counts.every((n) => n === USERS)).toBe(true);
    expect(Math.max(...Object.values(loose.adapter.tenantPoolStats()!.servers).map((s) => s.peak))).toBeGreaterThan(3);
    expect(Math.max(peak.main!, peak.second!)).toBeGreaterThan(3);
    await loose.close();
  }, 120_000);

  it("with connections: 3, PostgreSQL never lists more than 3 per server, and every read sees every row", async () => {
    const tight = client({ connectionBudget: { connections: 3 }, poolSize: 2 });
    const { peak, counts } = await load(tight);
    expect(counts.every((n) => n === USERS)).toBe(true);
    expect(peak.main).toBeLessThanOrEqual(3);
    expect(peak.second).toBeLessThanOrEqual(3);
    const stats = tight.adapter.tenantPoolStats()!;
    expect(stats.servers.main).toMatchObject({ cap: 3 });
    expect(stats.servers.main!.peak).toBeLessThanOrEqual(3);
    expect(stats.servers.second!.peak).toBeLessThanOrEqual(3);
    expect(stats.evictions).toBeGreaterThan(0); // 4 tenants per server on 3 connections: pools took turns
    await tight.close();
  }, 120_000);
});

describe("a pool in use is pinned", () => {
  let a: Tenant;
  let b: Tenant;
  beforeAll(async () => {
    [a, b] = (await createTenants(["Pinned A", "Pinned B"], () => "second")) as [Tenant, Tenant];
  }, 120_000);

  /** Holds an exclusive lock on A's users table (superuser) until `release` is called. */
  async function lockA(): Promise<{ release: () => Promise<void> }> {
    const c = new pg.Client({ connectionString: withDatabase(secondAdminUrl, databaseOf(a)) });
    c.on("error", () => undefined);
    await c.connect();
    await c.query("BEGIN");
    await c.query("LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE");
    return {
      release: async () => {
        await c.query("COMMIT");
        await c.end();
      },
    };
  }

  /** The app-role backend of A's database blocked on the lock, once there is one. */
  async function blockedPid(): Promise<number> {
    let pid = 0;
    await waitFor("A's read waiting on the lock", async () => {
      const { rows } = await withAdmin("second", "postgres", (c) =>
        c.query("SELECT pid FROM pg_stat_activity WHERE usename = 'stratum_app' AND datname = $1 AND wait_event_type = 'Lock'", [databaseOf(a)]),
      );
      pid = (rows[0] as { pid: number } | undefined)?.pid ?? 0;
      return pid !== 0;
    });
    return pid;
  }

  const alive = (pid: number) =>
    withAdmin("second", "postgres", async (c) => (await c.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rows.length === 1);

  it("under pressure an idle pool is closed to make room (the pressure is real)", async () => {
    const c = client({ connectionBudget: { connections: 1 }, poolSize: 1 });
    expect(await c.prisma.$tenant(a.id).user.count()).toBe(USERS);
    const [before] = await appBackends([a]).then((r) => [r.second]);
    expect(before).toBe(1);
    expect(await c.prisma.$tenant(b.id).user.count()).toBe(USERS);
    expect((await appBackends([a])).second).toBe(0); // A's connection was closed for B's
    await c.close();
  }, 60_000);

  it("a query in flight keeps its pool: the next tenant waits, then runs; nothing is cut off", async () => {
    const c = client({ connectionBudget: { connections: 1, waitMs: 60_000 }, poolSize: 1 });
    const lock = await lockA();
    let aRows: Promise<unknown[]> | undefined;
    let bRows: Promise<unknown[]> | undefined;
    try {
      aRows = c.prisma
        .$tenant(a.id)
        .user.findMany()
        .then((rows) => rows); // a Prisma call runs once awaited
      const pid = await blockedPid();
      bRows = c.prisma
        .$tenant(b.id)
        .user.findMany()
        .then((rows) => rows);
      await waitFor("B queued for the budget", () => c.adapter.tenantPoolStats()!.servers.second?.waiting === 1);
      expect(await alive(pid)).toBe(true); // not evicted under pressure
      expect(await appBackends([a, b])).toEqual({ second: 1 });
    } finally {
      await lock.release();
    }
    expect((await aRows!).length).toBe(USERS);
    expect((await bRows!).length).toBe(USERS);
    expect(c.adapter.tenantPoolStats()!.servers.second).toMatchObject({ cap: 1, peak: 1, waiting: 0 });
    await c.close();
  }, 60_000);

  it("a caller that waits past connectionBudget.waitMs gets CONNECTION_BUDGET_EXHAUSTED; the held query still completes", async () => {
    const c = client({ connectionBudget: { connections: 1, waitMs: 300 }, poolSize: 1 });
    const lock = await lockA();
    let aRows: Promise<unknown[]> | undefined;
    let refused: unknown;
    try {
      aRows = c.prisma
        .$tenant(a.id)
        .user.findMany()
        .then((rows) => rows); // a Prisma call runs once awaited
      const pid = await blockedPid();
      refused = await c.prisma
        .$tenant(b.id)
        .user.findMany()
        .catch((e: unknown) => e);
      expect(await alive(pid)).toBe(true);
    } finally {
      await lock.release();
    }
    expect(isStratumError(refused, "CONNECTION_BUDGET_EXHAUSTED")).toBe(true);
    expect((refused as { details: unknown }).details).toEqual({ server: "second", cap: 1, waitMs: 300 });
    expect((await aRows!).length).toBe(USERS);
    expect(await c.prisma.$tenant(b.id).user.count()).toBe(USERS); // the budget is whole again
    await c.close();
  }, 60_000);
});
