/**
 * The scope tokens: the owner-only table the policies check a statement's setting against, and
 * the view they read it through. Attacks on both from raw SQL, and the key's life cycle: a rotation
 * rolls out with both keys accepted, everywhere, until the previous one is retired; a deleted
 * tenant's tokens go with it.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Tenant } from "../../src/index.js";
import { INSTALL_SCOPE_KEY_SQL, RETIRE_PREVIOUS_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { stratumTestClient } from "../support/stratum-client.js";
import { failure } from "./support.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let owner: pg.Pool;
let rls: Tenant;
let other: Tenant;
let schema: Tenant;
let database: Tenant;

beforeAll(async () => {
  db = await createTestDatabase({ label: "atk_tokens" });
  client = stratumTestClient(db, { poolSize: 2 });
  owner = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
  rls = await client.prisma.$stratum.createTenant({ name: "Tok RLS" });
  other = await client.prisma.$stratum.createTenant({ name: "Tok Other" });
  schema = await client.prisma.$stratum.createTenant({ name: "Tok Schema", isolation_strategy: "SCHEMA" });
  database = await client.prisma.$stratum.createTenant({ name: "Tok Database", isolation_strategy: "DATABASE", server: "main" });
  for (const t of [rls, other, schema, database]) {
    await client.prisma.$tenant(t.id).user.create({ data: { tenant_id: t.id, email: `owner@${t.slug}.test` } });
  }
});

afterAll(async () => {
  await client?.close();
  await owner?.end();
  await db?.drop();
});

const tokenCount = async (tenantId: string) =>
  Number((await owner.query("SELECT count(*) FROM stratum_scope_tokens WHERE tenant_id = $1", [tenantId])).rows[0].count);

describe("the token table and its view", () => {
  it("the app role can neither read nor write the tokens, nor call the functions that sign them", async () => {
    const t = client.prisma.$tenant(rls.id);
    for (const statement of [
      "SELECT token FROM public.stratum_scope_tokens",
      `INSERT INTO public.stratum_scope_tokens (token, tenant_id, mode) VALUES ('forged', '${other.id}', 's')`,
      `DELETE FROM public.stratum_scope_tokens`,
      `SELECT public.stratum_scope_register('${other.id}'::uuid)`,
      `SELECT public.stratum_scope_sign('guess', '${other.id}'::uuid, 's')`,
    ]) {
      const error = await failure(t.$executeRawUnsafe(statement));
      expect(error, statement).toBeDefined();
      expect(String((error as Error).message), statement).not.toContain(other.id);
    }
    expect(await tokenCount(other.id)).toBe(3);
  });

  it("the view answers only for the caller's own token, even to a leaky function in the WHERE clause", async () => {
    // The attacker: an app-role connection holding one tenant's token (read from a scoped raw
    // statement), running the classic leaky-view attack: sequential scans forced, and a function
    // the planner thinks free, which without security_barrier runs before the view's own filter
    // on every row of the token table.
    const [own] = await client.prisma.$tenant(rls.id).$queryRawUnsafe<Array<{ token: string }>>("SELECT current_setting('stratum.tenant_id') AS token");
    const attacker = new pg.Client({ connectionString: db.appUrl });
    await attacker.connect();
    // The app role has no TEMPORARY (docs/security.md); granted back here so the view's own
    // defence (security_barrier) is tested alone, as if that revocation were missing.
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    await admin.query(`GRANT TEMPORARY ON DATABASE "${db.name}" TO stratum_app`);
    try {
      await attacker.query("BEGIN");
      await attacker.query("SELECT set_config('stratum.tenant_id', $1, true)", [own!.token]);
      await attacker.query("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off");
      await attacker.query("CREATE TEMP TABLE seen (tenant_id uuid, mode text) ON COMMIT DROP");
      await attacker.query(
        "CREATE FUNCTION pg_temp.peek(t uuid, m text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$ BEGIN INSERT INTO seen VALUES (t, m); RETURN true; END $$",
      );
      const rows = (await attacker.query("SELECT tenant_id::text, mode FROM public.stratum_scope_current WHERE pg_temp.peek(tenant_id, mode)")).rows;
      expect(rows).toEqual([{ tenant_id: rls.id, mode: "s" }]);
      const seen = (await attacker.query("SELECT DISTINCT tenant_id::text FROM seen")).rows.map((r: { tenant_id: string }) => r.tenant_id);
      expect(seen).toEqual([rls.id]);
      await attacker.query("ROLLBACK");
    } finally {
      await attacker.end();
      await admin.query(`REVOKE TEMPORARY ON DATABASE "${db.name}" FROM stratum_app`);
      await admin.end();
    }
    // Outside any scope the view is empty.
    expect(await client.prisma.$queryRawUnsafe("SELECT * FROM public.stratum_scope_current")).toEqual([]);
  });

  it("a token made up from another tenant's id and a valid-looking signature matches nothing", async () => {
    const t = client.prisma.$tenant(rls.id);
    const rows = await t.$queryRawUnsafe<Array<{ tenant_id: string }>>(
      `SELECT u.tenant_id::text FROM (SELECT set_config('stratum.tenant_id', '${other.id}.s.${randomBytes(32).toString("hex")}', true)) f, users u`,
    );
    expect(rows).toEqual([]);
  });
});

describe("the key's life cycle", () => {
  it("a deleted tenant's tokens are deleted with it", async () => {
    const doomed = await client.prisma.$stratum.createTenant({ name: "Tok Doomed" });
    expect(await tokenCount(doomed.id)).toBe(3);
    await client.prisma.$stratum.deleteTenant(doomed.id);
    expect(await tokenCount(doomed.id)).toBe(0);
  });

  it("a rotation rolls out: old and new keys both work until the previous key is retired, in every home", async () => {
    const newKey = randomBytes(32).toString("hex");
    await owner.query(INSTALL_SCOPE_KEY_SQL, [newKey]);
    expect(await tokenCount(rls.id)).toBe(6); // s, d, m under the current and the previous key
    // Installing the same key again re-signs nothing.
    const before = (await owner.query("SELECT xmin::text AS x FROM stratum_scope_tokens WHERE tenant_id = $1 ORDER BY token", [rls.id])).rows;
    await owner.query(INSTALL_SCOPE_KEY_SQL, [newKey]);
    expect((await owner.query("SELECT xmin::text AS x FROM stratum_scope_tokens WHERE tenant_id = $1 ORDER BY token", [rls.id])).rows).toEqual(before);

    const rotated = stratumTestClient({ ...db, scopeKey: newKey }, { poolSize: 2 });
    const ids = async (c: typeof client, t: Tenant) => (await c.prisma.$tenant(t.id).user.findMany()).map((u) => u.tenant_id);
    try {
      // Rolling out: processes with either key see their tenant's rows in the main database.
      for (const t of [rls, schema]) {
        expect(await ids(client, t), "old key").toEqual([t.id]);
        expect(await ids(rotated, t), "new key").toEqual([t.id]);
      }
      // The tenant database keeps its own copy of the keys until the fan-out brings them.
      expect(await ids(client, database)).toEqual([database.id]);
      expect(await ids(rotated, database)).toEqual([]);
      expect((await rotated.prisma.$stratum.migrateTenantHomes()).ok).toBe(true);
      expect(await ids(rotated, database)).toEqual([database.id]);
      expect(await ids(client, database)).toEqual([database.id]);

      // Retired: the old key's scopes match nothing anywhere, once the fan-out has run.
      await owner.query(RETIRE_PREVIOUS_SCOPE_KEY_SQL);
      expect(await tokenCount(rls.id)).toBe(3);
      expect((await rotated.prisma.$stratum.migrateTenantHomes()).ok).toBe(true);
      for (const t of [rls, schema, database]) {
        expect(await ids(client, t), "old key, retired").toEqual([]);
        expect(await ids(rotated, t), "new key").toEqual([t.id]);
      }
    } finally {
      await rotated.close();
      await owner.query(INSTALL_SCOPE_KEY_SQL, [db.scopeKey]);
      await owner.query(RETIRE_PREVIOUS_SCOPE_KEY_SQL);
    }
  });
});
