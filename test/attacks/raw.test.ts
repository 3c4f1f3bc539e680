/**
 * Raw and Unsafe queries on a scoped client, and every way raw SQL might switch tenants: a forged
 * set_config, a replayed token in another mode, SET search_path, SET ROLE, RESET ALL, session-level
 * settings meant to outlive the statement.
 */
import { Prisma as P } from "../../generated/prisma/client.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createWorld, expectClean, expectOnlyTenant, failure, targets, type Seeded, type World } from "./support.js";

let world: World;

beforeAll(async () => {
  world = await createWorld("atk_raw");
});

afterAll(async () => {
  await world?.close();
});

afterEach(async () => {
  await expectClean(world.solo);
});

type Row = { tenant_id: string; email?: string };

describe.each(["SHARED_RLS", "SCHEMA"] as const)("%s", (strategy) => {
  const ctx = () => {
    const found = targets(world).find(([name]) => name === strategy)!;
    return { self: found[1], others: found[2], t: world.solo.prisma.$tenant(found[1].tenant.id) };
  };

  it("$queryRaw, $queryRawUnsafe, $executeRaw and $executeRawUnsafe run inside the scope", async () => {
    const { self, others, t } = ctx();
    const tagged = await t.$queryRaw<Row[]>`SELECT tenant_id::text, email FROM users`;
    expect(tagged).toHaveLength(self.users.length);
    expectOnlyTenant(tagged, self, others);
    const unsafe = await t.$queryRawUnsafe<Row[]>("SELECT tenant_id::text, email FROM users UNION ALL SELECT tenant_id::text, title FROM tickets");
    expect(unsafe).toHaveLength(self.users.length + self.tickets.length);
    expectOnlyTenant(unsafe, self, others);
    const sql = P.sql`SELECT tenant_id::text FROM tickets WHERE id = ANY(${others.flatMap((o) => o.tickets.map((x) => x.id))}::uuid[])`;
    expect(await t.$queryRaw<Row[]>(sql)).toEqual([]);
    // Writes touch only the tenant's rows, whatever the WHERE says.
    expect(await t.$executeRaw`UPDATE users SET name = name WHERE true`).toBe(self.users.length);
    expect(await t.$executeRawUnsafe("UPDATE tickets SET title = title")).toBe(self.tickets.length);
    const foreignIds = others.flatMap((o) => o.users.map((u) => u.id));
    expect(await t.$executeRawUnsafe("DELETE FROM tickets WHERE author_id = ANY($1::uuid[])", foreignIds)).toBe(0);
    expect(await t.$executeRawUnsafe("UPDATE users SET name = 'pwned' WHERE id = ANY($1::uuid[])", foreignIds)).toBe(0);
    // Schema-qualified names reach other homes only to find the policy there.
    const qualified = await t.$queryRawUnsafe<Row[]>(
      `SELECT tenant_id::text FROM public.users UNION ALL ${world.schema.map((s) => `SELECT tenant_id::text FROM "${s.tenant.placement}".users`).join(" UNION ALL ")}`,
    );
    expectOnlyTenant(qualified, self, others);
    await expectUntouched(others);
  });

  it("a forged set_config (unsigned, mis-signed, another mode, another tenant's id) matches nothing", async () => {
    const { self, others, t } = ctx();
    const [own] = await t.$queryRawUnsafe<Array<{ token: string }>>("SELECT current_setting('stratum.tenant_id') AS token");
    const token = own!.token;
    const signature = token.slice(-64);
    const victim = others[0]!.tenant.id;
    const forgeries = [
      victim,
      `${victim}.s.${"0".repeat(64)}`,
      `${victim}.s.${signature}`, // our signature, their id
      `${self.tenant.id}.d.${signature}`, // our id, a wider mode
      `${self.tenant.id}.a.${signature}`, // stratum's admin mode
      `00000000-0000-0000-0000-000000000000.a.${signature}`,
      `${token} `,
      `${token.toUpperCase()}`,
    ];
    for (const forged of forgeries) {
      for (const local of [true, false]) {
        const rows = await t.$queryRawUnsafe<Row[]>(`SELECT u.tenant_id::text FROM (SELECT set_config('stratum.tenant_id', $1, ${local})) f, users u`, forged);
        expect(rows, forged).toEqual([]);
        const admin = await t.$queryRawUnsafe<Array<{ n: number }>>(
          `SELECT count(*)::int AS n FROM (SELECT set_config('stratum.tenant_id', $1, ${local})) f, public.stratum_tenants`,
          forged,
        );
        expect(admin[0]!.n, forged).toBe(0);
        await expectClean(world.solo);
      }
    }
  });

  it("SET search_path to another tenant's schema or to public finds no foreign row", async () => {
    const { self, others, t } = ctx();
    for (const target of [...world.schema.map((s) => `"${s.tenant.placement}"`), "public", "pg_catalog, public", `"$user"`]) {
      for (const statement of [
        `SET search_path TO ${target}`,
        `SET LOCAL search_path TO ${target}`,
        `SELECT set_config('search_path', '${target.replace(/'/g, "''")}', false)`,
      ]) {
        const outcome = await failure(t.$executeRawUnsafe(statement));
        if (outcome) expectOnlyTenant(outcome, self, others);
        // In one transaction: the switch, then the read.
        const rows = await t.$transaction(async (tx) => {
          await tx.$executeRawUnsafe(statement);
          return tx.$queryRawUnsafe<Row[]>("SELECT tenant_id::text FROM users UNION ALL SELECT tenant_id::text FROM tickets");
        });
        expectOnlyTenant(rows, self, others);
        // And the next model call on that connection reads its own home again.
        const own = await t.user.findMany();
        expect(own).toHaveLength(self.users.length);
        expectOnlyTenant(own, self, others);
        await expectClean(world.solo);
      }
    }
  });

  it("SET ROLE, SET SESSION AUTHORIZATION and privilege-changing statements are refused", async () => {
    const { self, others, t } = ctx();
    for (const statement of [
      "SET ROLE stratum_owner",
      "SET ROLE postgres",
      "SET SESSION AUTHORIZATION postgres",
      "SET row_security = off",
      "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
      "ALTER TABLE users NO FORCE ROW LEVEL SECURITY",
      "DROP POLICY stratum_tenant_isolation ON users",
      "CREATE POLICY pwn ON users USING (true)",
      "GRANT SELECT ON stratum_scope_keys TO stratum_app",
      "SELECT key FROM public.stratum_scope_keys",
      "CREATE TABLE pwn (id int)",
    ]) {
      const error = await failure(t.$executeRawUnsafe(statement));
      // row_security = off is accepted by PostgreSQL but then errors on any policy-bearing read.
      if (statement === "SET row_security = off") {
        const read = await failure(t.$queryRawUnsafe(`SELECT u.* FROM (SELECT set_config('row_security', 'off', true)) f, users u`));
        // Either PostgreSQL refuses the read or the policy still applies: never every row.
        if (read) expectOnlyTenant(read, self, others);
        const rows = await t.$transaction(async (tx) => {
          await tx.$executeRawUnsafe(statement).catch(() => undefined);
          return tx.$queryRawUnsafe<Row[]>("SELECT tenant_id::text FROM users").catch(() => []);
        });
        expectOnlyTenant(rows, self, others);
        continue;
      }
      expect(error, statement).toBeDefined();
      expectOnlyTenant(error, self, others);
      await expectClean(world.solo);
    }
  });

  it("the scope functions cannot be redefined or shadowed from a scoped statement", async () => {
    const { self, others, t } = ctx();
    for (const statement of [
      "CREATE OR REPLACE FUNCTION public.stratum_scope_tenants() RETURNS uuid[] LANGUAGE sql AS 'SELECT array_agg(id) FROM stratum_tenants'",
      "CREATE FUNCTION pg_temp.stratum_scope_tenants() RETURNS uuid[] LANGUAGE sql AS 'SELECT ARRAY[]::uuid[]'",
      "CREATE TEMP TABLE users (tenant_id uuid)",
    ]) {
      const error = await failure(t.$executeRawUnsafe(statement));
      if (error) expectOnlyTenant(error, self, others);
      const rows = await t.$queryRawUnsafe<Row[]>("SELECT tenant_id::text FROM public.users UNION ALL SELECT tenant_id::text FROM tickets");
      expectOnlyTenant(rows, self, others);
    }
    await world.solo.prisma.$executeRawUnsafe("DISCARD TEMP");
  });

  it("a scoped token set for the whole session (set_config(…, false)) does not follow the connection to an unscoped borrower", async () => {
    const { self, others, t } = ctx();
    await t.$queryRawUnsafe("SELECT set_config('stratum.tenant_id', current_setting('stratum.tenant_id'), false)");
    const leaked = await world.solo.prisma.$queryRawUnsafe<Row[]>("SELECT tenant_id::text FROM users UNION ALL SELECT tenant_id::text FROM tickets");
    expect(leaked).toEqual([]);
    const [own] = await t.$queryRawUnsafe<Array<{ token: string }>>("SELECT current_setting('stratum.tenant_id') AS token");
    await t.$executeRawUnsafe(`SET stratum.tenant_id TO '${own!.token}'`);
    const again = await world.solo.prisma.$queryRawUnsafe<Row[]>("SELECT tenant_id::text FROM users UNION ALL SELECT tenant_id::text FROM tickets");
    expect(again).toEqual([]);
    expectOnlyTenant(again, self, others);
  });
});

/** The other tenants' rows as the superuser sees them: unchanged names and titles. */
async function expectUntouched(others: readonly Seeded[]): Promise<void> {
  for (const o of others) {
    const home = o.strategy === "SCHEMA" ? `"${o.tenant.placement}"` : "public";
    const users = await world.admin.query(`SELECT name FROM ${home}.users WHERE tenant_id = $1 ORDER BY name`, [o.tenant.id]);
    expect(users.rows.map((r: { name: string }) => r.name).sort()).toEqual(o.users.map((u) => u.name).sort());
    const tickets = await world.admin.query(`SELECT count(*)::int AS n FROM ${home}.tickets WHERE tenant_id = $1`, [o.tenant.id]);
    expect(tickets.rows[0].n).toBe(o.tickets.length);
  }
}
