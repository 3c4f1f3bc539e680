/**
 * bench:pools — DATABASE tenants past the old pool cap: 100 active tenant databases on two
 * PostgreSQL servers (the main one and a second instance started through the test harness), read
 * round-robin in a shuffled order, under the per-server connection budget (src/isolation/
 * tenant-pools.ts). Compared in the same run, call by call, with:
 *   - a warm read: one DATABASE tenant read again and again (its pool always open);
 *   - a SHARED_RLS read of the same shape on the main database;
 *   - the fleet under the old default's bound (16 pools in all: 8 connections per server), which
 *     must close and reopen a pool on nearly every call — measured apart, after the others (its
 *     connection churn slowed whatever ran beside it);
 *   - the machine's floor, apart as well: the same read through bare `pg`, one backend against
 *     every fleet backend in turn — what waking a server process whose caches the 99 others have
 *     pushed out costs any client on this machine.
 * The query is `user.findMany({ take: 20 })`. Connections are counted by PostgreSQL itself
 * (pg_stat_activity, sampled during the run) and by the budget's own peak.
 *
 *   npm run bench:pools                                   # 100 tenants (about 3–4 minutes on 2 cores, most of it creating databases)
 *   BENCH_POOL_TENANTS=20 BENCH_ROUNDS=1 BENCH_CALLS=300 npm run bench:pools   # a short run
 *   BENCH_CALLERS=8 …                                     # concurrent callers per scenario (default 1)
 *   BENCH_SKIP_OLD=1 …                                    # leave out the old-bound scenario (the slow one)
 *   BENCH_ROUTE_TTL_MS=60000 …                            # stratum's route cache TTL (default 5 s, as without a change bus)
 *
 * Set-up: a scratch database `bench_pools_<random>` on DATABASE_URL's server (default
 * postgres@127.0.0.1:5432), migrated by stratum's runner; everything is dropped at the end.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter, type StratumAdapterOptions } from "../../src/index.js";
import { INSTALL_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { applyMigrations, pgExecutor } from "../../src/migrate/runner.js";
import { withDatabase } from "../../test/harness/postgres.js";
import { appUrlOf, ensureRoles, OWNER_ROLE, ownerUrlOf } from "../../test/harness/roles.js";
import { seededRandom, shuffled } from "../support/order.js";
import { withClient } from "../support/pg.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SERVER_ADMIN_URL = withDatabase(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres", "postgres");
const TENANTS = env("BENCH_POOL_TENANTS", 100);
const USERS = 25;
const ROUNDS = env("BENCH_ROUNDS", 3);
const CALLS = env("BENCH_CALLS", 1_000); // per scenario per round
const CALLERS = env("BENCH_CALLERS", 1);
/**
 * The second instance runs with max_connections=60, 3 of them reserved for superusers: its budget
 * (48) plus the old-bound client's 8 fit in the other 57. Main (max_connections 100) is shared
 * with whatever else runs on the machine.
 */
const CAPS = { main: env("BENCH_CAP_MAIN", 56), second: env("BENCH_CAP_SECOND", 48) };
/** Tenants on the second server (within its budget); the rest on main. */
const ON_SECOND = Math.min(env("BENCH_ON_SECOND", 45), Math.floor(TENANTS / 2));

const log = (line: string) => console.error(`[bench] ${line}`);

interface Server {
  name: string;
  adminUrl: string;
}

function buildClient(dbName: string, scopeKey: string, servers: Server[], pools: Pick<StratumAdapterOptions, "connectionBudget" | "poolSize">) {
  const adapter = stratumAdapter({
    connectionString: withDatabase(appUrlOf(SERVER_ADMIN_URL), dbName),
    pool: { max: 8 },
    servers: Object.fromEntries(servers.map((s) => [s.name, appUrlOf(s.adminUrl)])),
    ...pools,
  });
  const base = new PrismaClient({ adapter });
  const prisma = base.$extends(
    stratum({
      models: stratumModels,
      scopeKey,
      admin: { connectionString: withDatabase(ownerUrlOf(SERVER_ADMIN_URL), dbName), servers: Object.fromEntries(servers.map((s) => [s.name, s.adminUrl])) },
      ...(process.env.BENCH_ROUTE_TTL_MS ? { routeTtlMs: Number(process.env.BENCH_ROUTE_TTL_MS) } : {}),
    }),
  );
  return { prisma, adapter, close: () => base.$disconnect() };
}

type Client = ReturnType<typeof buildClient>;

interface Scenario {
  label: string;
  samples: number[];
  next: (caller: number) => Promise<unknown>;
}

const p = (samples: number[], q: number) => {
  const s = Float64Array.from(samples).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** App-role backends PostgreSQL lists in the given databases, on an open superuser client. */
async function backends(client: pg.Client, databases: string[]): Promise<number> {
  const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'stratum_app' AND datname = ANY($1)", [databases]);
  return (rows[0] as { n: number }).n;
}

/**
 * Bare `pg` reads of every fleet database (as the superuser: the tables force row-level security),
 * one named prepared statement per connection: one backend read again and again against all of
 * them round-robin in the fleet's order, taking turns call by call. Connections closed after.
 */
async function machineFloor(
  fleet: Array<{ placement: string | null }>,
  servers: Server[],
  order: Array<{ placement: string | null }>,
  call: (s: Scenario) => Promise<unknown>,
): Promise<[Scenario, Scenario]> {
  const connect = async (placement: string) => {
    const [serverName, database] = placement.split("/") as [string, string];
    const client = new pg.Client({ connectionString: withDatabase(servers.find((s) => s.name === serverName)!.adminUrl, database) });
    await client.connect();
    return client;
  };
  const read = { name: "floor_read", text: 'SELECT * FROM "public"."users" ORDER BY "id" LIMIT $1', values: [20] };
  const clients = new Map<string, pg.Client>();
  for (const t of fleet) clients.set(t.placement!, await connect(t.placement!));
  const one = await connect(fleet[fleet.length - 1]!.placement!);
  try {
    let n = 0;
    const scenarios: [Scenario, Scenario] = [
      { label: "bare pg, one backend", samples: [], next: () => one.query(read) },
      { label: "bare pg, every backend in turn", samples: [], next: () => clients.get(order[n++ % order.length]!.placement!)!.query(read) },
    ];
    for (const s of scenarios) for (let i = 0; i < 8 * fleet.length; i++) await s.next(0);
    for (const s of scenarios) s.samples.length = 0;
    for (let round = 0; round < ROUNDS; round++) for (let i = 0; i < CALLS; i++) for (const s of scenarios) await call(s);
    return scenarios;
  } finally {
    await Promise.all([one, ...clients.values()].map((c) => c.end().catch(() => undefined)));
  }
}

async function main(): Promise<void> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
    cleanups.length = 0;
  };
  process.on("SIGINT", () => void cleanup().finally(() => process.exit(130)));
  const dbName = `bench_pools_${randomBytes(4).toString("hex")}`;
  const scopeKey = randomBytes(32).toString("base64");
  try {
    await ensureRoles(SERVER_ADMIN_URL);
    await withClient(SERVER_ADMIN_URL, (c) => c.query(`CREATE DATABASE ${dbName} OWNER ${OWNER_ROLE}`));
    cleanups.push(() => withClient(SERVER_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)));
    await withClient(withDatabase(ownerUrlOf(SERVER_ADMIN_URL), dbName), async (c) => {
      await applyMigrations(pgExecutor(c), { migrationsDir: join(ROOT, "prisma", "migrations") });
      await c.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
    });
    const runId = `bench_pools_${randomBytes(4).toString("hex")}`;
    process.env.STRATUM_TEST_RUN_ID = runId;
    const { startSecondPostgres, stopSecondPostgres } = await import("../../test/harness/second-postgres.js");
    const second = await startSecondPostgres();
    cleanups.push(() => stopSecondPostgres(runId));
    const servers: Server[] = [
      { name: "main", adminUrl: SERVER_ADMIN_URL },
      { name: "second", adminUrl: second.adminUrl },
    ];

    // --- tenants, through stratum: DATABASE ones on both servers, one SHARED_RLS for the baseline
    const setup = buildClient(dbName, scopeKey, servers, { connectionBudget: { connections: 4 } });
    cleanups.push(setup.close);
    const t0 = performance.now();
    const seed = async (name: string, input: { isolation_strategy: "DATABASE" | "SHARED_RLS"; server?: string }) => {
      const tenant = await setup.prisma.$stratum.createTenant({ name, ...input });
      if (tenant.placement) {
        const [serverName, database] = tenant.placement.split("/") as [string, string];
        const server = servers.find((s) => s.name === serverName)!;
        cleanups.push(() => withClient(server.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)));
      }
      await setup.prisma
        .$tenant(tenant.id)
        .user.createMany({ data: Array.from({ length: USERS }, (_, i) => ({ id: randomUUID(), tenant_id: tenant.id, email: `u${i}@${tenant.slug}.bench` })) });
      return tenant;
    };
    const fleet: Array<Awaited<ReturnType<typeof seed>>> = [];
    for (let i = 0; i < TENANTS; i++) {
      fleet.push(await seed(`Fleet ${i}`, { isolation_strategy: "DATABASE", server: i < ON_SECOND ? "second" : "main" }));
      if ((i + 1) % 20 === 0) log(`${i + 1}/${TENANTS} tenant databases`);
    }
    const shared = await seed("Shared baseline", { isolation_strategy: "SHARED_RLS" });
    await setup.close();
    log(`seeded ${TENANTS} DATABASE tenants (${ON_SECOND} on second) + 1 SHARED_RLS in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // --- clients: the budget sized for the fleet, and the old default's bound
    const budgeted = buildClient(dbName, scopeKey, servers, { connectionBudget: { connections: CAPS }, poolSize: 2 });
    const legacy = buildClient(dbName, scopeKey, servers, { connectionBudget: { connections: 8 }, poolSize: 1 });
    const warm = buildClient(dbName, scopeKey, servers, { connectionBudget: { connections: 4 } });
    cleanups.push(budgeted.close, legacy.close, warm.close);
    const random = seededRandom(7);
    const order = shuffled(fleet, random);
    const cursor = new Map<string, number>();
    const roundRobin = (client: Client, key: string) => () => {
      const n = cursor.get(key) ?? 0;
      cursor.set(key, n + 1);
      return client.prisma.$tenant(order[n % order.length]!.id).user.findMany({ take: 20 });
    };
    const scenarios: Scenario[] = [
      { label: "warm read (one DATABASE tenant, pool open)", samples: [], next: () => warm.prisma.$tenant(fleet[TENANTS - 1]!.id).user.findMany({ take: 20 }) },
      { label: "SHARED_RLS read (main database)", samples: [], next: () => warm.prisma.$tenant(shared.id).user.findMany({ take: 20 }) },
      { label: `**${TENANTS} DATABASE tenants, budget ${CAPS.main}/${CAPS.second}**`, samples: [], next: roundRobin(budgeted, "budgeted") },
      { label: `${TENANTS} DATABASE tenants, 8 per server (old default: 16 pools)`, samples: [], next: roundRobin(legacy, "legacy") },
    ].filter((s) => process.env.BENCH_SKIP_OLD !== "1" || !s.label.includes("old default"));
    // Warm every tenant before measuring, as a long-running process is: PostgreSQL plans a prepared
    // statement afresh for its first 5 executions on a connection and settles on a cached generic
    // plan after, so each tenant's connection runs the read WARM_CALLS times first (the old-bound
    // client only once: its connections do not live long enough to warm).
    const WARM_CALLS = env("BENCH_WARM_CALLS", 8);
    for (const s of scenarios) {
      const passes = s.label.includes("old default") ? 1 : WARM_CALLS;
      for (let i = 0; i < passes * TENANTS; i++) await s.next(0);
    }

    const databases = (server: string) => fleet.filter((t) => t.placement!.startsWith(`${server}/`)).map((t) => t.placement!.split("/")[1]!);
    const peak: Record<string, number> = { main: 0, second: 0 };
    let sampling = true;
    // One superuser connection per server, sampling every 20 ms (not in a tight loop: it shares the 2 cores).
    const watchers = await Promise.all(
      servers.map(async (s) => {
        const c = new pg.Client({ connectionString: s.adminUrl });
        await c.connect();
        return { server: s.name, c };
      }),
    );
    const sampler = (async () => {
      while (sampling) {
        for (const w of watchers) peak[w.server] = Math.max(peak[w.server]!, await backends(w.c, databases(w.server)));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const w of watchers) await w.c.end();
    })();
    const call = (s: Scenario) =>
      Promise.all(
        Array.from({ length: CALLERS }, async (_, c) => {
          const t = performance.now();
          await s.next(c);
          s.samples.push(performance.now() - t);
        }),
      );
    // The old bound runs apart, after the others: it opens a connection (a new server process) on
    // nearly every call, and interleaved it slowed whichever scenario came next — the warm read
    // measured 0.72–0.96 ms beside it and 0.40 ms without it, the same run otherwise.
    const churning = (s: Scenario) => s.label.includes("old default");
    for (let round = 0; round < ROUNDS; round++) {
      // The others take turns call by call (CALLERS at a time), so drift hits all of them alike.
      for (let n = 0; n < CALLS; n++) for (const s of scenarios) if (!churning(s)) await call(s);
      log(`round ${round + 1}/${ROUNDS}`);
    }
    sampling = false;
    await sampler;
    // The machine's own price for the fleet, apart (main cannot hold the budget's connections and
    // these at once): the same 20-row read through bare `pg`, prepared, one backend against the
    // fleet's backends round-robin — what any client pays when each call wakes a server process
    // whose caches the others have pushed out.
    const stats = budgeted.adapter.tenantPoolStats()!;
    await budgeted.close();
    const floor = await machineFloor(fleet, servers, order, (s) => call(s));
    for (const s of scenarios.filter(churning)) for (let n = 0; n < ROUNDS * CALLS; n++) await call(s);

    const warmP50 = p(scenarios[0]!.samples, 0.5);
    const sharedP50 = p(scenarios[1]!.samples, 0.5);
    const legacyStats = legacy.adapter.tenantPoolStats(); // undefined when its scenario was left out
    console.log(
      `\n${TENANTS} DATABASE tenants (${TENANTS - ON_SECOND} main, ${ON_SECOND} second) × ${USERS} users; findMany({ take: 20 }); ${CALLERS} caller(s); ${ROUNDS} × ${CALLS} calls per scenario\n`,
    );
    console.log("| scenario | p50 ms | p99 ms | p50 vs warm | p50 vs SHARED_RLS |");
    console.log("|---|---:|---:|---:|---:|");
    for (const s of scenarios) {
      const p50 = p(s.samples, 0.5);
      console.log(`| ${s.label} | ${p50.toFixed(2)} | ${p(s.samples, 0.99).toFixed(2)} | ${(p50 / warmP50).toFixed(2)}× | ${(p50 / sharedP50).toFixed(2)}× |`);
    }
    const fmt = (st: typeof stats | undefined) =>
      st
        ? Object.entries(st.servers)
            .map(([name, v]) => `${name} ${v.peak}/${v.cap}`)
            .join(", ")
        : "not run";
    const turns = (st: typeof stats | undefined) => (st ? `evictions ${st.evictions}, idle-closed ${st.idleClosed}` : "");
    console.log(`\nconnections, budget's peak/cap: budgeted ${fmt(stats)} (${turns(stats)}); old bound ${fmt(legacyStats)} (${turns(legacyStats)})`);
    console.log(`pg_stat_activity peak, app role in the fleet's databases, all clients: main ${peak.main}, second ${peak.second}`);
    const ratio = p(scenarios[2]!.samples, 0.5) / warmP50;
    const [oneBackend, allBackends] = floor.map((s) => p(s.samples, 0.5)) as [number, number];
    const machine = allBackends / oneBackend;
    console.log(
      `\nthe machine's floor, bare pg (measured apart, after): one backend ${oneBackend.toFixed(3)} ms, ${TENANTS} backends in turn ${allBackends.toFixed(3)} ms = ${machine.toFixed(2)}× (+${(allBackends - oneBackend).toFixed(3)} ms; the fleet above: +${(p(scenarios[2]!.samples, 0.5) - warmP50).toFixed(3)} ms)`,
    );
    console.log(`target p50 ≤ 1.2× warm: ${ratio.toFixed(2)}× ${ratio <= 1.2 ? "met" : "NOT met"}`);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
