/**
 * Fleet migrations (src/migrate/fleet.ts) over SCHEMA homes in the main database and DATABASE
 * homes on the harness's second PostgreSQL: the no-op skips homes after one catalog check, lanes
 * stay within their connection bound, progress is reported, a failing home does not stop the
 * others, a killed run resumes where it stopped, a dry run changes nothing; and the CLI.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { stratumModels } from "../generated/stratum/index.js";
import type { Tenant } from "../src/index.js";
import { main as cli } from "../src/cli/main.js";
import { createAdminAccess } from "../src/extension/admin.js";
import { tenantTablesOf } from "../src/extension/strategies.js";
import type { AdminAccess } from "../src/isolation/strategy.js";
import { type FleetDeps, type FleetOptions, migrateFleet } from "../src/migrate/fleet.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { withDatabase } from "./harness/postgres.js";
import { appUrlOf } from "./harness/roles.js";
import { startSecondPostgres } from "./harness/second-postgres.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let owner: pg.Pool;
let secondAdmin: string;
let servers: Record<string, string>;
const homes: Tenant[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ label: "fleet" });
  secondAdmin = (await startSecondPostgres()).adminUrl;
  servers = { main: db.adminUrl, second: secondAdmin };
  client = stratumTestClient(db, { servers: { second: { appUrl: appUrlOf(secondAdmin), adminUrl: secondAdmin } } });
  owner = new pg.Pool({ connectionString: db.adminUrl, max: 3 });
  const s = client.prisma.$stratum;
  for (let i = 0; i < 4; i++) homes.push(await s.createTenant({ name: `Fleet schema ${i}`, isolation_strategy: "SCHEMA" }));
  for (let i = 0; i < 2; i++) homes.push(await s.createTenant({ name: `Fleet database ${i}`, isolation_strategy: "DATABASE", server: "second" }));
});

afterAll(async () => {
  for (const t of homes) await client?.prisma.$stratum.deleteTenant(t.id).catch(() => undefined);
  await client?.close();
  await owner?.end();
  await db?.drop();
});

const deps = (admin: AdminAccess = createAdminAccess({ connectionString: db.ownerUrl, servers })): FleetDeps => ({
  admin,
  tenantTables: tenantTablesOf(stratumModels),
  appRole: "stratum_app",
});
const run = (options: FleetOptions = {}, admin?: AdminAccess) => migrateFleet(deps(admin), options);

interface Counts {
  /** Connections opened, by kind: "main", "server <name>", "database <server>". */
  opened: string[];
  statements: number;
  /** Most connections of one kind open at once. */
  peak: Record<string, number>;
}

/** An AdminAccess that counts the connections it opens and the statements sent on them. */
function counting(): { admin: AdminAccess; counts: Counts } {
  const real = createAdminAccess({ connectionString: db.ownerUrl, servers });
  const counts: Counts = { opened: [], statements: 0, peak: {} };
  const open: Record<string, number> = {};
  const track = async (kind: string, connect: () => Promise<pg.Client>) => {
    const c = await connect();
    counts.opened.push(kind);
    open[kind] = (open[kind] ?? 0) + 1;
    counts.peak[kind] = Math.max(counts.peak[kind] ?? 0, open[kind]!);
    const query = c.query.bind(c) as (...args: unknown[]) => unknown;
    const end = c.end.bind(c);
    let ended = false;
    Object.assign(c, {
      query: (...args: unknown[]) => {
        counts.statements++;
        return query(...args);
      },
      end: () => {
        if (!ended) open[kind]!--;
        ended = true;
        return end();
      },
    });
    return c;
  };
  const admin: AdminAccess = {
    main: () => track("main", () => real.main()),
    server: (name) => track(`server ${name}`, () => real.server(name)),
    database: (placement) => track(`database ${placement.split("/")[0]}`, () => real.database(placement)),
    servers: () => real.servers(),
  };
  return { admin, counts };
}

async function onHome<T>(home: Tenant, fn: (c: pg.Client, schema: string) => Promise<T>): Promise<T> {
  const url = home.isolation_strategy === "SCHEMA" ? db.adminUrl : withDatabase(secondAdmin, home.placement!.split("/")[1]!);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c, home.isolation_strategy === "SCHEMA" ? home.placement! : "public");
  } finally {
    await c.end();
  }
}

const hasColumn = (home: Tenant, column: string) =>
  onHome(home, async (c, schema) => {
    const { rows } = await c.query("SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'users' AND column_name = $2", [
      schema,
      column,
    ]);
    return rows.length === 1;
  });

/** Each home's catalog comment (its marker). */
const comments = () =>
  Promise.all(
    homes.map((h) =>
      onHome(h, async (c, schema) =>
        h.isolation_strategy === "SCHEMA"
          ? (await c.query("SELECT obj_description(oid, 'pg_namespace') AS d FROM pg_namespace WHERE nspname = $1", [schema])).rows[0].d
          : (await c.query("SELECT shobj_description(oid, 'pg_database') AS d FROM pg_database WHERE datname = current_database()")).rows[0].d,
      ),
    ),
  );

const CHILD_APP = "stratum_fleet_child";

/** Waits until no backend of the killed child is left on either server. */
async function childBackendsGone(): Promise<void> {
  for (const url of [db.adminUrl, secondAdmin]) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (;;) {
        const { rows } = await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [CHILD_APP]);
        if (rows[0].n === 0) break;
        await c.query("SELECT pg_sleep(0.05)");
      }
    } finally {
      await c.end();
    }
  }
}

const addTemplateColumn = (column: string) => owner.query(`ALTER TABLE public.users ADD COLUMN ${column} text`);

describe("fleet migrations", () => {
  it("a current fleet costs one catalog check: no home is opened, whatever the number of homes", async () => {
    expect((await run()).ok).toBe(true); // marks every home
    // Without the check (verify: every home opened), each DATABASE home costs a connection.
    const verified = counting();
    const full = await run({ verify: true }, verified.admin);
    expect(full.summary.migrated).toBe(homes.length);
    expect(verified.counts.opened.filter((k) => k === "database second")).toHaveLength(2);

    const check = counting();
    const noop = await run({}, check.admin);
    expect(noop.summary).toMatchObject({ total: homes.length, current: homes.length, migrated: 0, failed: 0 });
    expect(noop.homes.every((h) => h.status === "current" && h.applied.length === 0)).toBe(true);
    expect(check.counts.opened.sort()).toEqual(["main", "server second"]);

    // One more home: once it is migrated, the no-op sends exactly the same statements.
    homes.push(await client.prisma.$stratum.createTenant({ name: "Fleet schema late", isolation_strategy: "SCHEMA" }));
    const late = await run();
    expect(late.summary).toMatchObject({ migrated: 1, current: homes.length - 1 });
    const again = counting();
    await run({}, again.admin);
    expect(again.counts.statements).toBe(check.counts.statements);
    expect(again.counts.opened.sort()).toEqual(["main", "server second"]);
  });

  it("a template change reaches every home, with a plan event, one progress event per home and at most `concurrency` connections per lane", async () => {
    await addTemplateColumn("fleet_a");
    const plans: unknown[] = [];
    const done: number[] = [];
    const counted = counting();
    const report = await run(
      {
        concurrency: 2,
        onPlan: (p) => plans.push(p),
        onProgress: (p) => {
          expect(p.total).toBe(homes.length);
          expect(p.status).toBe("migrated");
          done.push(p.done);
        },
      },
      counted.admin,
    );
    expect(plans).toEqual([{ total: homes.length, current: 0, toRun: homes.length, dryRun: false, migration: report.migration }]);
    expect(done).toEqual(homes.map((_, i) => i + 1));
    expect(report.homes.every((h) => h.applied.some((sql) => /ADD COLUMN "fleet_a" text/.test(sql)))).toBe(true);
    for (const h of homes) expect(await hasColumn(h, "fleet_a")).toBe(true);
    // The catalog connection plus two SCHEMA workers on the main database; two on the second server.
    expect(counted.counts.peak["main"]).toBeLessThanOrEqual(3);
    expect(counted.counts.peak["database second"]).toBeLessThanOrEqual(2);
    expect((await run()).summary.current).toBe(homes.length);
  });

  it("a dry run lists each home's changes and changes nothing, markers included", async () => {
    await addTemplateColumn("fleet_b");
    const before = await comments();
    const dry = await run({ dryRun: true });
    expect(dry.summary).toMatchObject({ planned: homes.length, migrated: 0 });
    for (const h of dry.homes) expect(h.planned!.join("\n")).toMatch(/ADD COLUMN "fleet_b" text/);
    for (const h of homes) expect(await hasColumn(h, "fleet_b")).toBe(false);
    expect(await comments()).toEqual(before);
    expect((await run()).summary.migrated).toBe(homes.length);
  });

  it("a failing home is reported and the others are migrated; the next run retries only it", async () => {
    await addTemplateColumn("fleet_c");
    const stuck = homes[1]!;
    const locker = await owner.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE "${stuck.placement}".users IN ACCESS EXCLUSIVE MODE`);
      const report = await run({ lockTimeoutMs: 200 });
      expect(report.ok).toBe(false);
      expect(report.summary).toMatchObject({ failed: 1, migrated: homes.length - 1 });
      const failed = report.homes.find((h) => h.status === "failed")!;
      expect(failed.tenant_id).toBe(stuck.id);
      expect(failed.error).toMatch(/lock timeout/);
    } finally {
      await locker.query("ROLLBACK");
      locker.release();
    }
    expect(await hasColumn(stuck, "fleet_c")).toBe(false);
    const retry = await run();
    expect(retry.summary).toMatchObject({ migrated: 1, current: homes.length - 1 });
    expect(retry.homes.find((h) => h.status === "migrated")!.tenant_id).toBe(stuck.id);
  });

  it("a run killed mid-way leaves every home either migrated and marked or untouched, and the next run does the rest", async () => {
    await addTemplateColumn("fleet_d");
    const tagged = (url: string) => {
      const u = new URL(url);
      u.searchParams.set("application_name", CHILD_APP);
      return u.toString();
    };
    const childServers = Object.fromEntries(Object.entries(servers).map(([name, url]) => [name, tagged(url)]));
    const child = spawn(process.execPath, ["--import", "tsx", "test/support/fleet-child.ts", tagged(db.ownerUrl), JSON.stringify(childServers)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    expect(first.done).toBe(false);
    child.kill("SIGKILL");
    await exited;
    // The server finishes what it already received (a COMMIT in flight still commits): the kill
    // has settled once the child's backends are gone.
    await childBackendsGone();

    // The journal is the homes' markers: a home is at the new fingerprint exactly when it has the column.
    const state = await run({ dryRun: true });
    const migrated = state.homes.filter((h) => h.status === "current");
    expect(migrated.length).toBeGreaterThanOrEqual(1);
    expect(migrated.length).toBeLessThan(homes.length);
    const seen = await Promise.all(
      state.homes.map(async (h) => ({ home: h.placement, status: h.status, column: await hasColumn(homes.find((t) => t.id === h.tenant_id)!, "fleet_d") })),
    );
    expect(seen).toEqual(seen.map((s) => ({ ...s, column: s.status === "current" })));

    const resumed = await run();
    expect(resumed.summary).toMatchObject({ migrated: homes.length - migrated.length, current: migrated.length, failed: 0 });
    for (const h of homes) expect(await hasColumn(h, "fleet_d")).toBe(true);
  });

  it("naming tenants checks them in full: a hand-dropped policy comes back although the marker says current", async () => {
    const home = homes[0]!;
    await owner.query(`DROP POLICY stratum_tenant_isolation ON "${home.placement}".users`);
    expect((await run()).summary.current).toBe(homes.length); // the marker cannot see a hand edit
    const named = await run({ tenantIds: [home.id] });
    expect(named.summary).toMatchObject({ total: 1, migrated: 1 });
    const { rows } = await owner.query("SELECT 1 FROM pg_policies WHERE schemaname = $1 AND tablename = 'users' AND policyname = 'stratum_tenant_isolation'", [
      home.placement,
    ]);
    expect(rows).toHaveLength(1);
  });
});

describe("stratum-prisma migrate over the homes", () => {
  const argv = (...extra: string[]) => [
    "node",
    "stratum-prisma",
    "migrate",
    "--url",
    db.ownerUrl,
    "--server",
    `main=${db.adminUrl}`,
    "--server",
    `second=${secondAdmin}`,
    ...extra,
  ];

  async function captured(args: string[]): Promise<{ code: number; out: string }> {
    const out: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
    const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
    try {
      return { code: await cli(args), out: out.join("\n") };
    } finally {
      log.mockRestore();
      error.mockRestore();
      stderr.mockRestore();
    }
  }

  it("--dry-run lists the homes' changes; a run with a failing home exits non-zero after migrating the others", async () => {
    await addTemplateColumn("fleet_cli");
    const dry = await captured(argv("--dry-run"));
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/main database: no pending migration/);
    expect(dry.out).toContain(`homes: ${homes.length}: 0 current, ${homes.length} would be migrated`);
    expect(dry.out).toMatch(/ADD COLUMN "fleet_cli" text/);
    for (const h of homes) expect(await hasColumn(h, "fleet_cli")).toBe(false);

    const stuck = homes[2]!;
    const locker = await owner.connect();
    let failing: { code: number; out: string };
    try {
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE "${stuck.placement}".users IN ACCESS EXCLUSIVE MODE`);
      failing = await captured(argv("--lock-timeout", "200"));
    } finally {
      await locker.query("ROLLBACK");
      locker.release();
    }
    expect(failing.code).toBe(1);
    expect(failing.out).toContain(`failed SCHEMA home ${stuck.placement}`);
    expect(failing.out).toMatch(/1 home\(s\) failed/);
    // Plain progress lines (not a terminal), not a redrawn bar.
    expect(failing.out).not.toContain("\r");
    expect(failing.out).toMatch(new RegExp(`${homes.length}/${homes.length} homes 100%`));

    const ok = await captured(argv());
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`homes: ${homes.length}: 1 migrated, ${homes.length - 1} already current`);
  });
});
