/** A migration of the main database reaches schema and database tenants by synchronisation. */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Tenant } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { appUrlOf } from "./harness/roles.js";
import { startSecondPostgres } from "./harness/second-postgres.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let admin: pg.Pool;
let secondAdmin: string;
let schemaTenant: Tenant;
let dbTenant: Tenant;

beforeAll(async () => {
  db = await createTestDatabase({ label: "fanout" });
  const second = await startSecondPostgres();
  secondAdmin = second.adminUrl;
  client = stratumTestClient(db, { servers: { second: { appUrl: appUrlOf(second.adminUrl), adminUrl: second.adminUrl } } });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  schemaTenant = await client.prisma.$stratum.createTenant({ name: "Fan Schema", isolation_strategy: "SCHEMA" });
  dbTenant = await client.prisma.$stratum.createTenant({ name: "Fan Database", isolation_strategy: "DATABASE", server: "second" });
  await client.prisma.$tenant(schemaTenant.id).user.create({ data: { tenant_id: schemaTenant.id, email: "a@s.test" } });
});

afterAll(async () => {
  await client?.close();
  await admin?.end();
  await db?.drop();
});

async function columns(url: string, schema: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query("SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'users' ORDER BY column_name", [
      schema,
    ]);
    return rows.map((r) => r.column_name as string);
  } finally {
    await c.end();
  }
}

describe("migrateTenantHomes", () => {
  it("adds what a new migration added to every home, then has nothing left to do", async () => {
    await admin.query("ALTER TABLE public.users ADD COLUMN nickname text NOT NULL DEFAULT ''");
    await admin.query("CREATE INDEX users_nickname_idx ON public.users (tenant_id, nickname)");
    const progress: string[] = [];
    const first = await client.prisma.$stratum.migrateTenantHomes({ concurrency: 2, onProgress: (p) => progress.push(`${p.done}/${p.total}`) });
    expect(first.ok).toBe(true);
    expect(first.homes).toHaveLength(2);
    expect(progress.sort()).toEqual(["1/2", "2/2"]);
    for (const home of first.homes) {
      expect(home.applied.join("\n")).toMatch(/ADD COLUMN "nickname" text NOT NULL DEFAULT ''/);
      expect(home.applied.join("\n")).toMatch(/users_nickname_idx/);
    }
    expect(await columns(db.adminUrl, schemaTenant.placement!)).toContain("nickname");
    const tenantDbUrl = secondAdmin.replace(/\/postgres$/, `/${dbTenant.placement!.split("/")[1]}`);
    expect(await columns(tenantDbUrl, "public")).toContain("nickname");
    // Existing rows got the default; the tenant keeps working through its scope.
    const rows = await client.prisma.$tenant(schemaTenant.id).$queryRawUnsafe<Array<{ nickname: string }>>("SELECT nickname FROM users");
    expect(rows).toEqual([{ nickname: "" }]);
    const again = await client.prisma.$stratum.migrateTenantHomes();
    expect(again.homes.map((h) => h.applied)).toEqual([[], []]);
  });

  it("reports a type change as drift instead of rewriting the column", async () => {
    // The subtree view reads every column, so a type change needs it dropped first (the home's
    // security SQL creates it again); docs/isolation.md, "Plans".
    await admin.query(`DROP VIEW "${schemaTenant.placement}".stratum_d_users`);
    await admin.query(`ALTER TABLE "${schemaTenant.placement}".users ALTER COLUMN name TYPE varchar(20)`);
    const report = await client.prisma.$stratum.migrateTenantHomes({ tenantIds: [schemaTenant.id] });
    expect(report.homes[0]!.drift.join(" ")).toMatch(/users\.name is character varying\(20\), the template has text/);
  });
});
