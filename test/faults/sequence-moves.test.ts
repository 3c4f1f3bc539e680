/**
 * Moves of a table whose key is drawn from a sequence: every direction between the three
 * strategies, with inserts in each home after each move (the home's sequence must be past the
 * rows the move copied), and a key only unique per database refused before anything switches.
 * The table is not in the Prisma schema: a mover is built here over it alone, as the extension
 * builds one over the generated models.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tenantTableSql } from "../../src/sql/security.js";
import { createAdminAccess } from "../../src/extension/admin.js";
import { buildStrategies } from "../../src/extension/strategies.js";
import { isStratumError, type Tenant } from "../../src/index.js";
import { createIsolationMover } from "../../src/isolation/move.js";
import { IsolationRouter } from "../../src/isolation/router.js";
import { signScope } from "../../src/isolation/scope.js";
import type { IsolationStrategyName } from "../../src/core/types.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { APP_ROLE } from "../harness/roles.js";
import { stratumTestClient } from "../support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let owner: pg.Pool;
/** Inserts as the superuser (RLS is forced on the owner too). */
let superuser: pg.Pool;

const TABLES = [
  { table: "counters", tenantColumn: "tenant_id" },
  { table: "tallies", tenantColumn: "tenant_id" },
];

beforeAll(async () => {
  db = await createTestDatabase({ label: "sequence_moves" });
  client = stratumTestClient(db);
  owner = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
  superuser = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  // counters: the key includes the tenant column (moves anywhere); tallies: a bare serial key.
  await owner.query(`CREATE TABLE counters (tenant_id uuid NOT NULL, id serial, n int NOT NULL, PRIMARY KEY (tenant_id, id))`);
  await owner.query(`CREATE TABLE tallies (id serial PRIMARY KEY, tenant_id uuid NOT NULL)`);
  for (const t of TABLES) await owner.query(tenantTableSql(t.table, t.tenantColumn, APP_ROLE, "public", true));
  await owner.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE}`);
});

afterAll(async () => {
  await client?.close();
  await owner?.end();
  await superuser?.end();
  await db?.drop();
});

function mover(tables: typeof TABLES) {
  const admin = createAdminAccess({ connectionString: db.ownerUrl, servers: { main: db.adminUrl } });
  const strategies = buildStrategies(tables.map((t) => t.table));
  const sign = (id: string, mode: "s" | "d" | "m") => signScope(db.scopeKey, id, mode);
  return createIsolationMover({
    admin,
    strategies,
    router: new IsolationRouter({ strategies, sign, load: async () => null }),
    tenantTables: tables,
    provisionContext: (server) => ({ admin, tenantTables: tables, appRole: APP_ROLE, ...(server ? { server } : {}) }),
    sign: (id) => sign(id, "m"),
    audit: { record: async () => undefined },
  });
}

/** The tenant's home as the superuser reaches it: a client and the schema holding its tables. */
async function home(tenant: Tenant): Promise<{ client: pg.Client; schema: string }> {
  const route = (await owner.query("SELECT isolation_strategy, placement FROM stratum_tenants WHERE id = $1", [tenant.id])).rows[0] as {
    isolation_strategy: IsolationStrategyName;
    placement: string | null;
  };
  const url = new URL(db.adminUrl);
  if (route.isolation_strategy === "DATABASE") url.pathname = `/${route.placement!.split("/")[1]}`;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  return { client: c, schema: route.isolation_strategy === "SCHEMA" ? route.placement! : "public" };
}

/** Inserts `k` counters for the tenant in its current home, keys from that home's sequence. */
async function count(tenant: Tenant, k: number): Promise<void> {
  const h = await home(tenant);
  try {
    for (let i = 0; i < k; i++) await h.client.query(`INSERT INTO "${h.schema}".counters (tenant_id, n) VALUES ($1, $2)`, [tenant.id, i]);
  } finally {
    await h.client.end();
  }
}

async function counters(tenant: Tenant): Promise<number> {
  const h = await home(tenant);
  try {
    return (await h.client.query(`SELECT count(DISTINCT id)::int AS n FROM "${h.schema}".counters WHERE tenant_id = $1`, [tenant.id])).rows[0].n as number;
  } finally {
    await h.client.end();
  }
}

describe("moves of sequence-backed keys", () => {
  it("go every direction, and each new home's sequence continues past the copied rows", async () => {
    const tenant = await client.prisma.$stratum.createTenant({ name: "Counting" });
    const other = await client.prisma.$stratum.createTenant({ name: "Counting too" });
    const move = mover(TABLES.slice(0, 1));
    const path: IsolationStrategyName[] = ["SCHEMA", "DATABASE", "SHARED_RLS", "DATABASE", "SCHEMA", "SHARED_RLS"];
    let expected = 0;
    for (const to of path) {
      await count(tenant, 3);
      await count(other, 2);
      expected += 3;
      const result = await move.setIsolation(tenant.id, to, to === "DATABASE" ? { server: "main" } : {});
      expect(result.row_counts).toEqual({ counters: expected });
      await count(tenant, 1); // would be a duplicate key if the home's sequence were behind
      expected += 1;
      expect(await counters(tenant)).toBe(expected);
    }
  });

  it("a key unique only per database is refused before the flip when it collides, and the tenant stays whole", async () => {
    const tenant = await client.prisma.$stratum.createTenant({ name: "Tallying", isolation_strategy: "SHARED_RLS" });
    const other = await client.prisma.$stratum.createTenant({ name: "Tallying too" });
    const move = mover(TABLES.slice(1));
    const tally = async (t: Tenant, schema: string, c: pg.Client | pg.Pool) => c.query(`INSERT INTO "${schema}".tallies (tenant_id) VALUES ($1)`, [t.id]);
    await tally(tenant, "public", superuser);
    await move.setIsolation(tenant.id, "DATABASE", { server: "main" });
    const h = await home(tenant);
    try {
      await tally(tenant, "public", h.client); // the tenant database's own counter: the next key
      await tally(other, "public", superuser); // the main database's counter draws the same key
    } finally {
      await h.client.end();
    }
    const error = await move.setIsolation(tenant.id, "SHARED_RLS").then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStratumError(error, "ISOLATION_MOVE_FAILED")).toBe(true);
    expect((error as Error).message).toMatch(/tallies have keys that other rows already use/);
    const after = await home(tenant);
    try {
      expect((await after.client.query("SELECT count(*)::int AS n FROM tallies WHERE tenant_id = $1", [tenant.id])).rows[0].n).toBe(2);
    } finally {
      await after.client.end();
    }
    expect(
      (await owner.query("SELECT count(*)::int AS n FROM stratum_isolation_moves WHERE tenant_id = $1 AND finished_at IS NULL", [tenant.id])).rows[0].n,
    ).toBe(0);
  });
});
