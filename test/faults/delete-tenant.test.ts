/**
 * `deleteTenant` leaves nothing: for each strategy the tenant's rows are gone from its own home and
 * from the shared tables (where a SCHEMA or DATABASE tenant may have rows an interrupted move left),
 * in the transaction that deletes the tenant, with an audit row counting them — also while the
 * tenant's own writers keep inserting. Counted by the superuser.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStratumError, type Tenant } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { stratumTestClient } from "../support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let admin: pg.Pool;
const $ = () => client.prisma.$stratum;

beforeAll(async () => {
  db = await createTestDatabase({ label: "delete_tenant" });
  client = stratumTestClient(db);
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
});

afterAll(async () => {
  await client?.close();
  await admin?.end();
  await db?.drop();
});

async function seed(tenant: Tenant, n: number): Promise<void> {
  const t = client.prisma.$tenant(tenant.id);
  for (let i = 0; i < n; i++) {
    const user = await t.user.create({ data: { tenant_id: tenant.id, email: `u${i}@${tenant.slug}.test` } });
    await t.ticket.create({ data: { tenant_id: tenant.id, title: `T${i}`, author_id: user.id } });
  }
}

async function sharedRows(tenantId: string): Promise<number> {
  const { rows } = await admin.query(
    "SELECT (SELECT count(*) FROM public.users WHERE tenant_id = $1) + (SELECT count(*) FROM public.tickets WHERE tenant_id = $1) AS n",
    [tenantId],
  );
  return Number(rows[0].n);
}

async function homeExists(tenant: Tenant): Promise<boolean> {
  if (tenant.isolation_strategy === "SCHEMA") return (await admin.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [tenant.placement])).rows.length > 0;
  if (tenant.isolation_strategy === "DATABASE")
    return (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [tenant.placement!.split("/")[1]])).rows.length > 0;
  return false;
}

describe.each(["SHARED_RLS", "SCHEMA", "DATABASE"] as const)("deleteTenant of a %s tenant", (strategy) => {
  it("removes its rows everywhere, its tokens and its home, and audits the counts", async () => {
    const tenant = await $().createTenant({ name: `Doomed ${strategy}`, isolation_strategy: strategy, ...(strategy === "DATABASE" ? { server: "main" } : {}) });
    const keeper = await $().createTenant({ name: `Keeper ${strategy}` });
    await seed(tenant, 3);
    await seed(keeper, 2);
    if (strategy !== "SHARED_RLS") {
      // Rows an interrupted move left in the shared tables.
      await admin.query("INSERT INTO public.users (id, tenant_id, email) VALUES (gen_random_uuid(), $1, 'left@behind.test')", [tenant.id]);
    }
    const result = await $().deleteTenant(tenant.id);
    expect(result.deleted).toEqual([tenant.id]);
    expect(result.rows.users).toBe(strategy === "SHARED_RLS" ? 3 : 1);
    expect(await sharedRows(tenant.id)).toBe(0);
    expect(await homeExists(tenant)).toBe(false);
    expect((await admin.query("SELECT count(*)::int AS n FROM stratum_scope_tokens WHERE tenant_id = $1", [tenant.id])).rows[0].n).toBe(0);
    const audit = (await admin.query("SELECT before FROM stratum_audit WHERE action = 'tenant.delete' AND target_id = $1", [tenant.id])).rows;
    expect(audit).toHaveLength(1);
    expect(audit[0].before.rows).toEqual(result.rows);
    expect(await sharedRows(keeper.id)).toBe(4);
    expect(await client.prisma.$tenant(keeper.id).user.count()).toBe(2);
  });
});

describe("deleteTenant under load and mid-move", () => {
  it("a writer racing the delete leaves no row behind", async () => {
    const tenant = await $().createTenant({ name: "Racing" });
    await seed(tenant, 2);
    let stop = false;
    let acked = 0;
    const writer = (async () => {
      for (let i = 0; i < 2_000 && !stop; i++) {
        const ok = await client.prisma
          .$tenant(tenant.id)
          .user.create({ data: { tenant_id: tenant.id, email: `w${i}@racing.test` } })
          .then(
            () => true,
            () => false,
          );
        if (ok) acked++;
        else stop = true; // the tenant is gone: every later write is refused too
      }
    })();
    const doomed = await $()
      .deleteTenant(tenant.id)
      .finally(() => (stop = true));
    await writer;
    // Every acknowledged write committed before the delete and was counted by it; none came after.
    expect(doomed.rows.users).toBe(2 + acked);
    expect(await sharedRows(tenant.id)).toBe(0);
  });

  it("refuses while an isolation move is unfinished, and deletes once it is rolled back", async () => {
    const tenant = await $().createTenant({ name: "Half moved" });
    await seed(tenant, 1);
    await $()
      .setIsolation(tenant.id, "SCHEMA", { interruptBefore: "flip" })
      .catch(() => undefined);
    const error = await $()
      .deleteTenant(tenant.id)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isStratumError(error, "ISOLATION_MOVE_IN_PROGRESS")).toBe(true);
    await $().rollbackIsolationMove(tenant.id);
    await $().deleteTenant(tenant.id);
    expect(await sharedRows(tenant.id)).toBe(0);
  });
});
