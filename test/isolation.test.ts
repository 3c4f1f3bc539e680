/**
 * Attempts to break tenant isolation through the public API. Each test asserts that no foreign
 * row comes back and that the connection is clean for the next borrower.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWithTenant, type Tenant } from "../src/index.js";
import { SHARED_SEARCH_PATH } from "../src/isolation/names.js";
import { runInScope, signScope, type TenantScope } from "../src/isolation/scope.js";
import { codeOf as code } from "./support/errors.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let admin: pg.Pool;
let a: Tenant;
let b: Tenant;
let s: Tenant;
const prisma = () => client.prisma;

beforeAll(async () => {
  db = await createTestDatabase({ label: "isolation" });
  client = stratumTestClient(db, { poolSize: 2 });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const root = await prisma().$stratum.createTenant({ name: "Iso Root" });
  a = await prisma().$stratum.createTenant({ name: "Iso A", parent_id: root.id });
  b = await prisma().$stratum.createTenant({ name: "Iso B", parent_id: root.id });
  s = await prisma().$stratum.createTenant({ name: "Iso Schema", parent_id: root.id, isolation_strategy: "SCHEMA" });
  for (const t of [a, b, s]) {
    const user = await prisma()
      .$tenant(t.id)
      .user.create({ data: { tenant_id: t.id, email: `owner@${t.slug}.test` } });
    await prisma()
      .$tenant(t.id)
      .ticket.create({ data: { tenant_id: t.id, title: `ticket of ${t.slug}`, author_id: user.id } });
  }
});

afterAll(async () => {
  await client?.close();
  await admin?.end();
  await db?.drop();
});

describe.each([
  ["SHARED_RLS", () => a, () => b],
  ["SCHEMA", () => s, () => a],
] as const)("%s tenant", (_name, self, other) => {
  it("reads only its own rows with every read shape", async () => {
    const t = prisma().$tenant(self().id);
    const users = await t.user.findMany({ include: { tickets: true } });
    expect(users.map((u) => u.tenant_id)).toEqual([self().id]);
    expect(users[0]!.tickets.every((x) => x.tenant_id === self().id)).toBe(true);
    expect(await t.ticket.count()).toBe(1);
    expect((await t.user.aggregate({ _count: { _all: true } }))._count._all).toBe(1);
    expect((await t.ticket.groupBy({ by: ["tenant_id"], _count: true })).map((g) => g.tenant_id)).toEqual([self().id]);
    const withCount = await t.user.findFirst({ select: { _count: { select: { tickets: true } } } });
    expect(withCount?._count.tickets).toBe(1);
  });

  it("cannot find, update or delete another tenant's row by its id", async () => {
    const foreign = (await prisma().$tenant(other().id).user.findMany())[0]!;
    const t = prisma().$tenant(self().id);
    expect(await t.user.findUnique({ where: { id: foreign.id } })).toBeNull();
    expect(await t.user.findFirst({ where: { id: foreign.id } })).toBeNull();
    expect((await t.user.updateMany({ where: { id: foreign.id }, data: { name: "pwned" } })).count).toBe(0);
    expect((await t.user.deleteMany({ where: { id: foreign.id } })).count).toBe(0);
    expect(await code(t.user.update({ where: { id: foreign.id }, data: { name: "pwned" } }))).toBeDefined();
    const still = await admin.query("SELECT name FROM users WHERE id = $1 UNION ALL SELECT name FROM " + `"${s.placement}".users WHERE id = $1`, [foreign.id]);
    expect(still.rows).toEqual([{ name: null }]);
  });

  it("cannot insert or move a row into another tenant", async () => {
    const t = prisma().$tenant(self().id);
    expect(await code(t.user.create({ data: { tenant_id: other().id, email: "evil@x.test" } }))).toBeDefined();
    const mine = (await t.user.findMany())[0]!;
    expect(await code(t.user.update({ where: { id: mine.id }, data: { tenant_id: other().id } }))).toBeDefined();
    expect((await t.user.findMany()).map((u) => u.tenant_id)).toEqual([self().id]);
  });

  it("raw queries run in the scope and cannot forge another tenant's scope", async () => {
    const t = prisma().$tenant(self().id);
    const rows = await t.$queryRawUnsafe<Array<{ tenant_id: string }>>("SELECT tenant_id::text FROM users");
    expect(rows.map((r) => r.tenant_id)).toEqual([self().id]);
    const forged = await t.$queryRawUnsafe<Array<{ n: bigint }>>(
      `SELECT count(*) AS n FROM (SELECT set_config('stratum.tenant_id', '${other().id}.s.${"0".repeat(64)}', true)) f, users`,
    );
    expect(Number(forged[0]!.n)).toBe(0);
    const viaPath = await t.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT count(*) AS n FROM "${s.placement}".users, public.users`);
    expect(Number(viaPath[0]!.n)).toBeLessThanOrEqual(1);
  });

  it("an interactive transaction stays on one tenant and rolls back as a whole", async () => {
    const t = prisma().$tenant(self().id);
    const before = await t.user.count();
    await expect(
      t.$transaction(async (tx) => {
        await tx.user.create({ data: { tenant_id: self().id, email: "rollback@x.test" } });
        expect(await tx.user.count()).toBe(before + 1);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await t.user.count()).toBe(before);
    const [count, list] = await t.$transaction([t.user.count(), t.ticket.findMany()]);
    expect(count).toBe(before);
    expect(list.every((x) => x.tenant_id === self().id)).toBe(true);
  });
});

describe("transactions", () => {
  it("findUnique inside the scoped client's interactive transaction sees the transaction's own rows", async () => {
    const own = await prisma().$stratum.createTenant({ name: "Iso Itx" });
    const t = prisma().$tenant(own.id);
    const found = await t.$transaction(async (tx) => {
      const created = await tx.user.create({ data: { tenant_id: own.id, email: "itx-unique@a.test" } });
      return tx.user.findUnique({ where: { id: created.id } });
    });
    expect(found?.email).toBe("itx-unique@a.test");
  });

  it("tx.$tenant(id) inside the app's own transaction seals encrypted fields like any scoped client", async () => {
    const own = await prisma().$stratum.createTenant({ name: "Iso Sealed" });
    const created = await prisma().$transaction(async (tx) =>
      tx.$tenant(own.id).user.create({ data: { tenant_id: own.id, email: "sealed@b.test", ssn: "123-45-6789" } }),
    );
    expect(created.ssn).toBe("123-45-6789");
    const stored = await admin.query("SELECT ssn FROM users WHERE id = $1", [created.id]);
    expect(stored.rows[0].ssn).toMatch(/^stratum:v1:/);
  });
});

/** How many statements prepared on the client's (one) connection match `pattern` (a LIKE pattern). */
async function preparedLike(client: { $queryRawUnsafe<T>(sql: string, ...values: unknown[]): PromiseLike<T> }, pattern: string): Promise<number> {
  const rows = await client.$queryRawUnsafe<Array<{ n: number }>>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE $1", pattern);
  return rows[0]!.n;
}

describe("prepared statements", () => {
  it("survive a raw DISCARD ALL or DEALLOCATE on the connection (pool of 1)", async () => {
    const solo = stratumTestClient(db, { poolSize: 1 });
    try {
      const t = solo.prisma.$tenant(a.id);
      const before = await t.user.findMany({ orderBy: { email: "asc" } });
      expect(before.length).toBeGreaterThan(0);
      for (const statement of ["DISCARD ALL", "DEALLOCATE ALL", "DEALLOCATE stratum_scope", "DISCARD PLANS"]) {
        await solo.prisma.$executeRawUnsafe(statement);
        expect(await t.user.findMany({ orderBy: { email: "asc" } })).toEqual(before);
        expect(await t.user.count()).toBe(before.length);
      }
    } finally {
      await solo.close();
    }
  });

  it("are prepared once per SCHEMA tenant, so switching tenants on a connection never re-plans one statement under another search_path (pool of 1)", async () => {
    const second = await prisma().$stratum.createTenant({ name: "Iso Schema Two", isolation_strategy: "SCHEMA" });
    await prisma()
      .$tenant(second.id)
      .user.create({ data: { tenant_id: second.id, email: `owner@${second.slug}.test` } });
    const solo = stratumTestClient(db, { poolSize: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        for (const t of [s, second]) {
          expect((await solo.prisma.$tenant(t.id).user.findMany({ where: { email: { contains: "owner@" } } })).map((u) => u.tenant_id)).toEqual([t.id]);
        }
      }
      // The same unqualified text, prepared under two names on the one connection: one per schema.
      expect(await preparedLike(solo.prisma.$tenant(s.id), `SELECT "users"."id"%FROM "users" WHERE "users"."email"::text LIKE%`)).toBe(2);
    } finally {
      await solo.close();
    }
  });

  it("are named per search_path for every scope, so a scope with another path never re-plans a SHARED_RLS tenant's statement (pool of 1)", async () => {
    const solo = stratumTestClient(db, { poolSize: 1 });
    // What the mechanism costs when names are shared: PostgreSQL re-analyses a prepared statement
    // whenever the search_path differs from the one it was planned under (here the unqualified
    // name even resolves to another table).
    const raw = new pg.Client({ connectionString: db.adminUrl });
    await raw.connect();
    try {
      for (const [schema, v] of [
        ["stratum_probe_x", 1],
        ["stratum_probe_y", 2],
      ] as const) {
        await raw.query(`CREATE SCHEMA IF NOT EXISTS ${schema}; CREATE TABLE IF NOT EXISTS ${schema}.probe AS SELECT ${v} AS v`);
      }
      const shared = { name: "stratum_probe_shared", text: "SELECT v FROM probe" };
      await raw.query("SET search_path = stratum_probe_x");
      expect((await raw.query(shared)).rows).toEqual([{ v: 1 }]);
      await raw.query("SET search_path = stratum_probe_y");
      expect((await raw.query(shared)).rows).toEqual([{ v: 2 }]);

      const token = signScope(db.scopeKey, a.id, "s");
      const scopeWith = (searchPath: string): TenantScope => ({ tenantId: a.id, mode: "s", strategy: "SHARED_RLS", token, searchPath, readOnly: false });
      const read = (scope: TenantScope) => runInScope(scope, () => solo.base.user.findMany({ where: { email: { startsWith: "owner@" } } }).then((x) => x));
      for (const path of [SHARED_SEARCH_PATH, "public, pg_catalog, pg_temp", SHARED_SEARCH_PATH, "public, pg_catalog, pg_temp"]) {
        expect((await read(scopeWith(path))).map((u) => u.tenant_id)).toEqual([a.id]);
      }
      expect(await preparedLike(solo.prisma.$tenant(a.id), `SELECT "public"."users"."id"%WHERE "public"."users"."email"::text LIKE%`)).toBe(2);
    } finally {
      await raw.query("DROP SCHEMA IF EXISTS stratum_probe_x, stratum_probe_y CASCADE").catch(() => undefined);
      await raw.end();
      await solo.close();
    }
  });
});

describe("errors of scoped calls", () => {
  it("keep Prisma's message and their stack; the process's Error.stackTraceLimit is as it was", async () => {
    // The scoped client issues the parent's operation with no stack to record (scoped-proxy.ts).
    const limit = Error.stackTraceLimit;
    const error = (await prisma()
      .$tenant(a.id)
      .user.findMany({ where: { nope: 1 } as never })
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/Invalid `prisma\.user\.findMany\(\)` invocation[\s\S]*Unknown argument `nope`/);
    expect(error.stack).toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limit);
    const raw = (await prisma()
      .$tenant(a.id)
      .$queryRawUnsafe("SELECT 1/0")
      .catch((e: unknown) => e)) as Error;
    expect(raw.message).toMatch(/division by zero/);
    expect(Error.stackTraceLimit).toBe(limit);
  });
});

describe("fail closed", () => {
  it("tenant models on the unscoped client refuse with NO_TENANT_CONTEXT", async () => {
    expect(await code(prisma().user.findMany())).toBe("NO_TENANT_CONTEXT");
    expect(await code(prisma().ticket.count())).toBe("NO_TENANT_CONTEXT");
    expect(() => prisma().$tenant()).toThrow(/No tenant given/);
  });

  it("raw SQL on the unscoped client sees no tenant rows and no stratum rows", async () => {
    const rows = await prisma().$queryRawUnsafe<Array<{ n: bigint }>>(
      "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM tickets) + (SELECT count(*) FROM stratum_tenants) + (SELECT count(*) FROM stratum_config) AS n",
    );
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it("runWithTenant scopes plain model calls and $tenant() without an id", async () => {
    const users = await runWithTenant(a.id, () => prisma().user.findMany());
    expect(users.map((u) => u.tenant_id)).toEqual([a.id]);
    expect((await runWithTenant(b.id, () => prisma().$tenant().user.findMany())).map((u) => u.tenant_id)).toEqual([b.id]);
  });

  it("leaves no scope on pooled connections after errors", async () => {
    await code(prisma().$tenant(a.id).$queryRawUnsafe("SELECT 1/0"));
    await code(
      prisma()
        .$tenant(a.id)
        .$transaction(async (tx) => {
          await tx.$queryRawUnsafe("SELECT 1/0");
        }),
    );
    for (let i = 0; i < 4; i++) {
      const rows = await prisma().$queryRawUnsafe<Array<{ s: string }>>("SELECT coalesce(current_setting('stratum.tenant_id', true), '') AS s");
      expect(rows[0]!.s).toBe("");
    }
  });

  it("the descendants view reads the subtree, shared tables and schemas alike, and refuses writes", async () => {
    const root = (await prisma().$stratum.getAncestors(a.id))[0]!;
    const view = prisma().$tenant(root.id, { descendants: true });
    const tenants = new Set((await view.user.findMany()).map((u) => u.tenant_id));
    expect(tenants).toEqual(new Set([a.id, b.id, s.id]));
    expect(await code(view.user.create({ data: { tenant_id: root.id, email: "w@x.test" } }))).toBe("READ_ONLY_SCOPE");
  });

  it("concurrent scoped calls across tenants never mix rows (pool of 2)", async () => {
    const ids = [a, b, s];
    const calls = Array.from({ length: 300 }, (_, i) => {
      const t = ids[i % 3]!;
      const scoped = prisma().$tenant(t.id);
      const op =
        i % 3 === 0
          ? scoped.user.findMany()
          : i % 3 === 1
            ? scoped.user.findUnique({ where: { tenant_id_email: { tenant_id: t.id, email: `owner@${t.slug}.test` } } }).then((u) => (u ? [u] : []))
            : scoped.ticket.findMany();
      return op.then((rows) => ({ t: t.id, rows: rows as Array<{ tenant_id: string }> }));
    });
    for (const { t, rows } of await Promise.all(calls)) {
      expect(rows.length).toBe(1);
      expect(rows.every((r) => r.tenant_id === t)).toBe(true);
    }
  });
});
