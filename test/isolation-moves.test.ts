/**
 * DATABASE tenants on a second PostgreSQL instance, and moves between strategies: every row
 * kept, queries returning the same results at each step, other tenants untouched, and an
 * interrupted move resumed or rolled back with nothing lost and nothing visible twice.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Tenant } from "../src/index.js";
import { codeOf as code } from "./support/errors.js";
import { homeDatabaseName, homeSchemaName } from "../src/isolation/names.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { appUrlOf } from "./harness/roles.js";
import { startSecondPostgres } from "./harness/second-postgres.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let admin: pg.Pool;
let secondAdmin: string;
const prisma = () => client.prisma;

beforeAll(async () => {
  db = await createTestDatabase({ label: "moves" });
  const second = await startSecondPostgres();
  secondAdmin = second.adminUrl;
  client = stratumTestClient(db, { poolSize: 4, servers: { second: { appUrl: appUrlOf(second.adminUrl), adminUrl: second.adminUrl } } });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
});

afterAll(async () => {
  await client?.close();
  await admin?.end();
  await db?.drop();
});

async function seed(tenant: Tenant, users: number): Promise<void> {
  const t = prisma().$tenant(tenant.id);
  for (let i = 0; i < users; i++) {
    const user = await t.user.create({ data: { tenant_id: tenant.id, email: `u${i}@${tenant.slug}.test`, name: `User ${i}` } });
    await t.ticket.create({ data: { tenant_id: tenant.id, title: `T${i}`, author_id: user.id } });
  }
}

/** What a user of the tenant sees: the same before and after every move. */
async function snapshot(tenant: Tenant) {
  const t = prisma().$tenant(tenant.id);
  const users = await t.user.findMany({ orderBy: { email: "asc" }, include: { tickets: { orderBy: { title: "asc" } } } });
  return { users, count: await t.ticket.count() };
}

describe("DATABASE strategy on a second server", () => {
  it("creates the tenant's database there and keeps its rows apart", async () => {
    const d1 = await prisma().$stratum.createTenant({ name: "Db One", isolation_strategy: "DATABASE", server: "second" });
    const d2 = await prisma().$stratum.createTenant({ name: "Db Two", isolation_strategy: "DATABASE", server: "second" });
    expect(d1.placement).toBe(`second/${homeDatabaseName(d1.id)}`);
    await seed(d1, 2);
    await seed(d2, 1);
    expect((await snapshot(d1)).users.map((u) => u.tenant_id)).toEqual([d1.id, d1.id]);
    expect(await prisma().$tenant(d2.id).user.count()).toBe(1);
    const onSecond = new pg.Client({ connectionString: secondAdmin.replace(/\/postgres$/, `/${homeDatabaseName(d1.id)}`) });
    await onSecond.connect();
    try {
      expect((await onSecond.query("SELECT count(*)::int AS n FROM users")).rows[0].n).toBe(2);
    } finally {
      await onSecond.end();
    }
    expect((await admin.query("SELECT count(*)::int AS n FROM users WHERE tenant_id = $1", [d1.id])).rows[0].n).toBe(0);
  });
});

describe("setIsolation", () => {
  it("moves RLS → SCHEMA → DATABASE → RLS keeping every row and every query result", async () => {
    const tenant = await prisma().$stratum.createTenant({ name: "Mover" });
    const bystander = await prisma().$stratum.createTenant({ name: "Bystander" });
    await seed(tenant, 5);
    await seed(bystander, 3);
    const expected = await snapshot(tenant);
    const bystanderBefore = await snapshot(bystander);
    const steps: Array<["SCHEMA" | "DATABASE" | "SHARED_RLS", string | undefined]> = [
      ["SCHEMA", undefined],
      ["DATABASE", "second"],
      ["SHARED_RLS", undefined],
    ];
    for (const [to, server] of steps) {
      const result = await prisma().$stratum.setIsolation(tenant.id, to, server ? { server } : {});
      expect(result).toMatchObject({ moved: true, row_counts: { users: 5, tickets: 5 } });
      expect((await prisma().$stratum.getTenant(tenant.id)).isolation_strategy).toBe(to);
      expect(await snapshot(tenant)).toEqual(expected);
      expect(await snapshot(bystander)).toEqual(bystanderBefore);
      await prisma()
        .$tenant(tenant.id)
        .user.update({ where: { id: expected.users[0]!.id }, data: { name: "User 0" } });
    }
    // The old homes are gone: no schema left, no rows in shared tables other than the tenant's own.
    const schemas = await admin.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [homeSchemaName(tenant.id)]);
    expect(schemas.rows).toEqual([]);
    expect((await admin.query("SELECT count(*)::int AS n FROM users WHERE tenant_id = $1", [tenant.id])).rows[0].n).toBe(5);
    const moves = await prisma().$stratum.listIsolationMoves(tenant.id);
    expect(moves.map((m) => m.step)).toEqual(["cleaned", "cleaned", "cleaned"]);
  });

  it("refuses a no-op gracefully and bad input with typed errors", async () => {
    const tenant = await prisma().$stratum.createTenant({ name: "Stayer" });
    expect((await prisma().$stratum.setIsolation(tenant.id, "SHARED_RLS")).moved).toBe(false);
    expect(await code(prisma().$stratum.setIsolation(tenant.id, "NOPE" as never))).toBe("VALIDATION_FAILED");
    expect(await code(prisma().$stratum.setIsolation("00000000-0000-4000-8000-000000000009", "SCHEMA"))).toBe("TENANT_NOT_FOUND");
  });

  for (const at of ["copy", "flip", "clean"] as const) {
    it(`an interruption before "${at}" can be resumed, with nothing lost or visible twice`, async () => {
      const tenant = await prisma().$stratum.createTenant({ name: `Resume ${at}` });
      await seed(tenant, 3);
      const expected = await snapshot(tenant);
      expect(await code(prisma().$stratum.setIsolation(tenant.id, "SCHEMA", { interruptBefore: at }))).toBe("ISOLATION_MOVE_FAILED");
      expect(await snapshot(tenant)).toEqual(expected); // readable from whichever home the route names
      expect(await code(prisma().$stratum.setIsolation(tenant.id, "DATABASE"))).toBe("ISOLATION_MOVE_IN_PROGRESS");
      await prisma().$stratum.resumeIsolationMove(tenant.id);
      expect((await prisma().$stratum.getTenant(tenant.id)).isolation_strategy).toBe("SCHEMA");
      expect(await snapshot(tenant)).toEqual(expected);
      expect((await admin.query("SELECT count(*)::int AS n FROM public.users WHERE tenant_id = $1", [tenant.id])).rows[0].n).toBe(0);
    });

    it(`an interruption before "${at}" can be rolled back to the old home`, async () => {
      const tenant = await prisma().$stratum.createTenant({ name: `Rollback ${at}` });
      await seed(tenant, 2);
      const expected = await snapshot(tenant);
      await code(prisma().$stratum.setIsolation(tenant.id, "SCHEMA", { interruptBefore: at }));
      await prisma().$stratum.rollbackIsolationMove(tenant.id);
      expect((await prisma().$stratum.getTenant(tenant.id)).isolation_strategy).toBe("SHARED_RLS");
      expect(await snapshot(tenant)).toEqual(expected);
      expect((await admin.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [homeSchemaName(tenant.id)])).rows).toEqual([]);
    });
  }

  it("a writer during the move waits and its row arrives in the new home", async () => {
    const tenant = await prisma().$stratum.createTenant({ name: "Busy mover" });
    await seed(tenant, 50);
    // Another process (no shared freeze) writing through its own client while the move runs.
    const other = stratumTestClient(db);
    try {
      const move = prisma().$stratum.setIsolation(tenant.id, "SCHEMA");
      const writes = Array.from({ length: 5 }, (_, i) =>
        other.prisma
          .$tenant(tenant.id)
          .user.create({ data: { tenant_id: tenant.id, email: `late${i}@x.test` } })
          .then(
            () => "ok",
            (e: unknown) => String(e),
          ),
      );
      await move;
      const outcomes = await Promise.all(writes);
      const landed = outcomes.filter((o) => o === "ok").length;
      // Every acknowledged write is visible to the tenant afterwards, wherever it landed first.
      const visible = await prisma()
        .$tenant(tenant.id)
        .user.count({ where: { email: { startsWith: "late" } } });
      expect(visible).toBe(landed);
    } finally {
      await other.close();
    }
  });
});

describe("stale routes after a move", () => {
  it("a process whose route still says SHARED_RLS writes into the tenant's new home, never the old one", async () => {
    const tenant = await prisma().$stratum.createTenant({ name: "Stale route" });
    await seed(tenant, 1);
    const other = stratumTestClient(db);
    try {
      expect(await other.prisma.$tenant(tenant.id).user.count()).toBe(1); // caches the SHARED_RLS route
      await prisma().$stratum.setIsolation(tenant.id, "SCHEMA");
      // The shared-home policy refuses the insert in the old home; the refusal sends it to the new one.
      await other.prisma.$tenant(tenant.id).user.create({ data: { tenant_id: tenant.id, email: "late@x.test" } });
      expect((await admin.query("SELECT count(*)::int AS n FROM public.users WHERE tenant_id = $1", [tenant.id])).rows[0].n).toBe(0);
      expect(await prisma().$tenant(tenant.id).user.count()).toBe(2);
      expect(await other.prisma.$tenant(tenant.id).user.count()).toBe(2);
    } finally {
      await other.close();
    }
  });
});
