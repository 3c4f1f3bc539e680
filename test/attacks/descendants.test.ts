/**
 * The descendants view (an MSP sees its clients) across homes: clients in the shared tables and in
 * schemas of their own are read in one statement; clients in databases of their own are refused
 * unless left out on purpose. Every case also checks the other tree's rows never appear.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { doctor } from "../../src/cli/doctor.js";
import type { Tenant } from "../../src/index.js";
import { isStratumError } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { stratumTestClient } from "../support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
const prisma = () => client.prisma;
/** Tree one: msp (shared) → shared client, schema client; schemaMsp (schema) → shared client. */
const t: Record<"msp" | "sharedClient" | "schemaClient" | "schemaMsp" | "underSchemaMsp" | "other" | "otherSchemaClient", Tenant> = {} as never;

async function seed(tenant: Tenant, tickets: number): Promise<void> {
  const user = await prisma()
    .$tenant(tenant.id)
    .user.create({ data: { tenant_id: tenant.id, email: `owner@${tenant.slug}.test` } });
  for (let i = 0; i < tickets; i++) {
    await prisma()
      .$tenant(tenant.id)
      .ticket.create({ data: { tenant_id: tenant.id, title: `${tenant.slug} #${i}`, author_id: user.id } });
  }
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "atk_desc" });
  client = stratumTestClient(db, { poolSize: 3 });
  const root = await prisma().$stratum.createTenant({ name: "Desc Root" });
  t.msp = await prisma().$stratum.createTenant({ name: "Desc MSP", parent_id: root.id });
  t.sharedClient = await prisma().$stratum.createTenant({ name: "Desc Shared Client", parent_id: t.msp.id });
  t.schemaClient = await prisma().$stratum.createTenant({ name: "Desc Schema Client", parent_id: t.msp.id, isolation_strategy: "SCHEMA" });
  t.schemaMsp = await prisma().$stratum.createTenant({ name: "Desc Schema MSP", parent_id: root.id, isolation_strategy: "SCHEMA" });
  t.underSchemaMsp = await prisma().$stratum.createTenant({ name: "Desc Under Schema MSP", parent_id: t.schemaMsp.id });
  t.other = await prisma().$stratum.createTenant({ name: "Desc Other MSP" });
  t.otherSchemaClient = await prisma().$stratum.createTenant({ name: "Desc Other Schema Client", parent_id: t.other.id, isolation_strategy: "SCHEMA" });
  const tickets = { msp: 1, sharedClient: 2, schemaClient: 3, schemaMsp: 1, underSchemaMsp: 2, other: 4, otherSchemaClient: 5 } as const;
  for (const [name, n] of Object.entries(tickets)) await seed(t[name as keyof typeof t], n);
});

afterAll(async () => {
  await client?.close();
  await db?.drop();
});

const tenantsOf = (rows: Array<{ tenant_id: string }>) => new Set(rows.map((r) => r.tenant_id));

describe("descendants view across homes", () => {
  it("an MSP in the shared tables reads its shared and its schema clients, and nothing of the other tree", async () => {
    const view = prisma().$tenant(t.msp.id, { descendants: true });
    const family = new Set([t.msp.id, t.sharedClient.id, t.schemaClient.id]);
    expect(tenantsOf(await view.user.findMany())).toEqual(family);
    expect(await view.ticket.count()).toBe(1 + 2 + 3);
    const groups = await view.ticket.groupBy({ by: ["tenant_id"], _count: { _all: true }, orderBy: { tenant_id: "asc" } });
    expect(Object.fromEntries(groups.map((g) => [g.tenant_id, g._count._all]))).toEqual({ [t.msp.id]: 1, [t.sharedClient.id]: 2, [t.schemaClient.id]: 3 });
    // Relations, filters, ordering and paging work on the union as on one table.
    const users = await view.user.findMany({ include: { tickets: true }, orderBy: { email: "asc" } });
    expect(users.map((u) => [u.tenant_id, u.tickets.length, u.tickets.every((x) => x.tenant_id === u.tenant_id)])).toEqual(
      [t.msp, t.schemaClient, t.sharedClient]
        .sort((x, y) => `owner@${x.slug}.test`.localeCompare(`owner@${y.slug}.test`))
        .map((x) => [x.id, x.id === t.msp.id ? 1 : x.id === t.sharedClient.id ? 2 : 3, true]),
    );
    const page = await view.ticket.findMany({ where: { title: { contains: "#" } }, orderBy: { title: "asc" }, skip: 1, take: 3 });
    expect(page).toHaveLength(3);
    expect(page.every((x) => family.has(x.tenant_id))).toBe(true);
    const counted = await view.user.findFirst({ where: { tenant_id: t.schemaClient.id }, select: { _count: { select: { tickets: true } } } });
    expect(counted?._count.tickets).toBe(3);
    // A filter naming the other tree's tenant finds nothing: the policies still decide.
    expect(await view.ticket.count({ where: { tenant_id: { in: [t.other.id, t.otherSchemaClient.id] } } })).toBe(0);
  });

  it("an MSP living in a schema reads its own schema and its clients in the shared tables", async () => {
    const view = prisma().$tenant(t.schemaMsp.id, { descendants: true });
    expect(tenantsOf(await view.ticket.findMany())).toEqual(new Set([t.schemaMsp.id, t.underSchemaMsp.id]));
    expect(await view.ticket.count()).toBe(1 + 2);
  });

  it("a client's view is the client alone; the other tree sees only itself", async () => {
    expect(tenantsOf(await prisma().$tenant(t.schemaClient.id, { descendants: true }).ticket.findMany())).toEqual(new Set([t.schemaClient.id]));
    expect(tenantsOf(await prisma().$tenant(t.other.id, { descendants: true }).ticket.findMany())).toEqual(new Set([t.other.id, t.otherSchemaClient.id]));
  });

  it("stays read-only: model writes and raw writes are refused, nothing changes in any home", async () => {
    const view = prisma().$tenant(t.msp.id, { descendants: true });
    const before = await view.ticket.count();
    for (const write of [
      view.ticket.updateMany({ data: { title: "x" } }),
      view.ticket.deleteMany({}),
      view.$executeRawUnsafe(`UPDATE tickets SET title = 'x'`),
    ]) {
      const error = await Promise.resolve(write).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isStratumError(error) ? error.code : String(error)).toBe("READ_ONLY_SCOPE");
    }
    expect(await view.ticket.count({ where: { title: "x" } })).toBe(0);
    expect(await view.ticket.count()).toBe(before);
  });

  it("a client in a database of its own is refused with DESCENDANTS_OUT_OF_REACH, or left out on request", async () => {
    const own = await prisma().$stratum.createTenant({ name: "Desc Own DB Client", parent_id: t.msp.id, isolation_strategy: "DATABASE", server: "main" });
    try {
      await seed(own, 1);
      const error = await prisma()
        .$tenant(t.msp.id, { descendants: true })
        .ticket.count()
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isStratumError(error) && error.code).toBe("DESCENDANTS_OUT_OF_REACH");
      expect((error as Error).message).toContain(own.slug);
      const reachable = prisma().$tenant(t.msp.id, { descendants: "same-database" });
      expect(tenantsOf(await reachable.ticket.findMany())).toEqual(new Set([t.msp.id, t.sharedClient.id, t.schemaClient.id]));
    } finally {
      await prisma().$stratum.deleteTenant(own.id);
    }
    // Gone from the subtree: the plain view works again.
    expect(await prisma().$tenant(t.msp.id, { descendants: true }).ticket.count()).toBe(6);
  });

  it("follows a client that moves between the shared tables and a schema", async () => {
    const view = () => prisma().$tenant(t.msp.id, { descendants: true });
    expect(await view().ticket.count()).toBe(6);
    await prisma().$stratum.setIsolation(t.sharedClient.id, "SCHEMA");
    expect(await view().ticket.count()).toBe(6);
    expect(tenantsOf(await view().ticket.findMany())).toEqual(new Set([t.msp.id, t.sharedClient.id, t.schemaClient.id]));
    await prisma().$stratum.setIsolation(t.sharedClient.id, "SHARED_RLS");
    expect(await view().ticket.count()).toBe(6);
  });

  it("a home's subtree view is guarded by its own filter: the owner's policy on a home admits the home's rows", async () => {
    const home = t.schemaClient.placement!;
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      // The mechanism: the view reads the home's table as the owner, whose policy (stratum_subtree)
      // admits every row of the home — with no scope at all. A copy of the view without its filter
      // hands them to anyone (the attack where the defence is absent).
      expect((await owner.query(`SELECT count(*)::int AS n FROM "${home}"."tickets"`)).rows[0].n).toBe(3);
      await owner.query(`CREATE VIEW "${home}"."atk_unfiltered" WITH (security_barrier) AS SELECT * FROM "${home}"."tickets"`);
      await owner.query(`GRANT SELECT ON "${home}"."atk_unfiltered" TO stratum_app`);
      const stranger = prisma().$tenant(t.other.id, { descendants: true });
      const leaked = await stranger.$queryRawUnsafe<Array<{ tenant_id: string }>>(`SELECT tenant_id::text FROM "${home}"."atk_unfiltered"`);
      expect(tenantsOf(leaked)).toEqual(new Set([t.schemaClient.id]));
      // Which is why such a view is refused: the doctor (and the start-up check) name it.
      const report = await doctor(db.appUrl, ["users", "tickets"]);
      expect(report.problems.join("\n")).toContain(`${home}.atk_unfiltered`);
      // The defence: stratum's own view asks whether the scope covers the home, in every scope mode.
      const sql = `SELECT tenant_id::text FROM "${home}"."${"stratum_d_tickets"}"`;
      expect(await stranger.$queryRawUnsafe(sql)).toEqual([]);
      expect(await prisma().$tenant(t.other.id).$queryRawUnsafe(sql)).toEqual([]);
      expect(await prisma().$tenant(t.sharedClient.id, { descendants: true }).$queryRawUnsafe(sql)).toEqual([]);
      expect(tenantsOf(await prisma().$tenant(t.msp.id, { descendants: true }).$queryRawUnsafe(sql))).toEqual(new Set([t.schemaClient.id]));
      expect(await prisma().$queryRawUnsafe(sql)).toEqual([]);
    } finally {
      await owner.query(`DROP VIEW IF EXISTS "${home}"."atk_unfiltered"`);
      await owner.end();
    }
  });
});
