/**
 * Attacks on the database objects around the policies: views (security_invoker or not),
 * search_path fallback from a tenant schema to public, slug injection into schema names, and
 * ltree prefix confusion in the descendants view.
 */
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Tenant } from "../../src/index.js";
import { codeOf, createWorld, expectClean, expectOnlyTenant, failure, render, seed, uniq, type Seeded, type World } from "./support.js";

let world: World;
let owner: pg.Pool;

beforeAll(async () => {
  world = await createWorld("atk_schema");
  owner = new pg.Pool({ connectionString: world.db.ownerUrl, max: 1 });
});

afterAll(async () => {
  await owner?.end();
  await world?.close();
});

afterEach(async () => {
  await expectClean(world.solo);
});

type Row = { tenant_id: string };

describe("views", () => {
  it("a security_invoker view over tenant tables filters like the tables (our rule 6)", async () => {
    await owner.query(
      "CREATE VIEW public.atk_invoker WITH (security_invoker = true) AS SELECT u.tenant_id, u.email, t.title FROM public.users u JOIN public.tickets t ON t.author_id = u.id AND t.tenant_id = u.tenant_id",
    );
    await owner.query("GRANT SELECT ON public.atk_invoker TO stratum_app");
    const [a, b] = world.rls;
    const rows = await world.solo.prisma.$tenant(a.tenant.id).$queryRawUnsafe<Row[]>("SELECT tenant_id::text, email, title FROM public.atk_invoker");
    expect(rows).toHaveLength(a.tickets.length);
    expectOnlyTenant(rows, a, [b, ...world.schema]);
    expect(await world.solo.prisma.$queryRawUnsafe<Row[]>("SELECT tenant_id::text FROM public.atk_invoker")).toEqual([]);
  });

  it("a definer view owned by the tables' owner stays filtered only because the policies are FORCEd", async () => {
    await owner.query("CREATE VIEW public.atk_owner_definer AS SELECT tenant_id, email FROM public.users");
    await owner.query("GRANT SELECT ON public.atk_owner_definer TO stratum_app");
    const [a, b] = world.rls;
    const rows = await world.solo.prisma.$tenant(a.tenant.id).$queryRawUnsafe<Row[]>("SELECT tenant_id::text, email FROM public.atk_owner_definer");
    expectOnlyTenant(rows, a, [b, ...world.schema]);
    const forced = await world.admin.query(
      "SELECT bool_and(relforcerowsecurity) AS forced FROM pg_class WHERE oid IN ('public.users'::regclass, 'public.tickets'::regclass)",
    );
    expect(forced.rows[0].forced).toBe(true);
  });

  it("documents the danger: a definer view owned by a role that bypasses RLS leaks every tenant's rows", async () => {
    // This is why views must be security_invoker (rule 6): the doctor/generator must refuse a
    // non-invoker view over tenant tables (views-doctor.test.ts: doctor names it).
    await world.admin.query("CREATE VIEW public.atk_super_definer AS SELECT tenant_id, email FROM public.users");
    await world.admin.query("GRANT SELECT ON public.atk_super_definer TO stratum_app");
    const [a, b] = world.rls;
    const rows = await world.solo.prisma.$tenant(a.tenant.id).$queryRawUnsafe<Row[]>("SELECT tenant_id::text, email FROM public.atk_super_definer");
    expect(new Set(rows.map((r) => r.tenant_id))).toEqual(new Set([a.tenant.id, b.tenant.id]));
    await world.admin.query("DROP VIEW public.atk_super_definer");
  });

  it("the app role cannot create a view (or anything) to launder rows through", async () => {
    const [a] = world.rls;
    const error = await failure(world.solo.prisma.$tenant(a.tenant.id).$executeRawUnsafe("CREATE VIEW public.atk_app_view AS SELECT * FROM users"));
    expect(render(error)).toMatch(/permission denied|42501/);
    const temp = await failure(world.solo.prisma.$tenant(a.tenant.id).$executeRawUnsafe("CREATE TEMP VIEW atk_temp AS SELECT * FROM public.users"));
    // A temporary view runs as the app role itself, so even if allowed it is filtered.
    if (!temp) {
      const rows = await world.solo.prisma.$tenant(a.tenant.id).$queryRawUnsafe<Row[]>("SELECT tenant_id::text FROM atk_temp");
      expectOnlyTenant(
        rows,
        a,
        world.all.filter((s) => s !== a),
      );
      await world.solo.prisma.$executeRawUnsafe("DISCARD TEMP");
    }
  });
});

describe("search_path fallback", () => {
  it("a SCHEMA tenant never reads public.users, even rows carrying its own tenant id", async () => {
    const [s, s2] = world.schema;
    // A stray row in public with the schema tenant's id (e.g. left by a botched move).
    await world.admin.query("INSERT INTO public.users (id, tenant_id, email, name) VALUES (gen_random_uuid(), $1, 'stray@public.test', 'stray_in_public')", [
      s.tenant.id,
    ]);
    try {
      const t = world.solo.prisma.$tenant(s.tenant.id);
      const users = await t.user.findMany();
      expect(users.map((u) => u.email)).not.toContain("stray@public.test");
      expect(users).toHaveLength(s.users.length);
      expectOnlyTenant(users, s, [s2, ...world.rls]);
      expect(await t.user.count()).toBe(s.users.length);
      expect(await t.user.findFirst({ where: { email: "stray@public.test" } })).toBeNull();
      const raw = await t.$queryRawUnsafe<Array<{ email: string }>>("SELECT email FROM users");
      expect(raw.map((r) => r.email)).not.toContain("stray@public.test");
    } finally {
      await world.admin.query("DELETE FROM public.users WHERE email = 'stray@public.test'");
    }
  });

  it("a tenant table missing from the tenant's schema fails, rather than resolving to public", async () => {
    const p = world.client.prisma;
    const tenant = await p.$stratum.createTenant({ name: `hollow ${uniq()}`, isolation_strategy: "SCHEMA" });
    const seeded = await seed(p, tenant, "SCHEMA");
    await world.admin.query(`DROP TABLE "${tenant.placement}".tickets CASCADE`); // CASCADE: the subtree view reads it
    // public.tickets holds rows of RLS tenants and a row with this tenant's id.
    const author = seeded.users[0]!.id;
    const marker = `hollow_${uniq()}`;
    await world.admin
      .query("INSERT INTO public.users (id, tenant_id, email) VALUES ($2, $1, 'hollow@public.test')", [tenant.id, author])
      .catch(() => undefined);
    await world.admin.query("INSERT INTO public.tickets (id, tenant_id, title, author_id) VALUES (gen_random_uuid(), $1, $3, $2)", [tenant.id, author, marker]);
    try {
      const t = world.solo.prisma.$tenant(tenant.id);
      const error = await failure(t.ticket.findMany());
      expect(error).toBeDefined();
      expect(render(error)).not.toContain(marker);
      expect(render(error)).toMatch(/does not exist|P2021|42P01/);
      const raw = await failure(t.$queryRawUnsafe("SELECT title FROM tickets"));
      expect(render(raw)).toMatch(/does not exist|42P01/);
      const nested = await failure(t.user.findMany({ include: { tickets: true } }));
      expect(nested).toBeDefined();
      expect(render(nested)).not.toContain(marker);
    } finally {
      await world.admin.query("DELETE FROM public.tickets WHERE tenant_id = $1", [tenant.id]);
      await world.admin.query("DELETE FROM public.users WHERE tenant_id = $1", [tenant.id]);
    }
  });

  it("a table that exists only in public (a global table) still resolves for SCHEMA tenants through stratum's own services, not tenant tables", async () => {
    const [s] = world.schema;
    // Prisma qualifies tables with "public"; only tenant tables lose it. A raw unqualified name
    // of a global table does not resolve inside the tenant's schema-only search_path.
    const error = await failure(world.solo.prisma.$tenant(s.tenant.id).$queryRawUnsafe("SELECT count(*) FROM stratum_tenants"));
    expect(render(error)).toMatch(/does not exist|42P01/);
  });
});

describe("slug injection", () => {
  const bad = [
    'x"; drop table users; --',
    "x'; drop table users; --",
    "x; drop table users",
    'a"b',
    "Upper",
    "with space",
    "public",
    "pg_catalog",
    "pg_temp",
    "information_schema",
    "stratum_x",
    "1leading_digit",
    "a".repeat(64),
    "",
    "x\u0000y",
    "émoji",
    "a-b",
    "a.b",
  ];

  it.each(bad)("slug %j is refused with INVALID_SLUG (SHARED_RLS and SCHEMA)", async (slug) => {
    // A NUL character is refused in any argument of any $stratum call before its rules are read.
    const expected = slug.includes("\u0000") ? "VALIDATION_FAILED" : "INVALID_SLUG";
    for (const isolation_strategy of ["SCHEMA", "SHARED_RLS"] as const) {
      const error = await failure(world.client.prisma.$stratum.createTenant({ name: `inj ${uniq()}`, slug, isolation_strategy }));
      expect(codeOf(error), `${isolation_strategy} ${JSON.stringify(slug)}`).toBe(expected);
    }
  });

  it("hostile names become safe slugs; nothing was dropped and no stray schema exists", async () => {
    const t = await world.client.prisma.$stratum.createTenant({ name: `x"; drop table users; -- ${uniq()}`, isolation_strategy: "SCHEMA" });
    expect(t.slug).toMatch(/^[a-z][a-z0-9_]{0,62}$/);
    const tables = await world.admin.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('users', 'tickets')");
    expect(tables.rows[0].n).toBe(2);
    const schemas = await world.admin.query("SELECT nspname FROM pg_namespace WHERE nspname !~ '^[a-z_][a-z0-9_]*$'");
    expect(schemas.rows).toEqual([]);
  });
});

describe("ltree prefix confusion", () => {
  it("descendants of A never include a tenant whose id (and path label) shares A's characters", async () => {
    const base = "1234abcd-1234-4abc-8abc-1234567890a";
    const ids = { a: `${base}a`, a1: `${base}b`, b: `${base}c`, b1: "1234abcd-1234-4abc-8abc-1234567890ad" };
    const insert = (id: string, parent: string | null, slug: string) =>
      world.admin.query("INSERT INTO stratum_tenants (id, parent_id, slug, name) VALUES ($1, $2, $3, $3)", [id, parent, slug]);
    const suffix = uniq();
    await insert(ids.a, null, `pa_${suffix}`);
    await insert(ids.a1, ids.a, `pa1_${suffix}`);
    await insert(ids.b, null, `pb_${suffix}`);
    await insert(ids.b1, ids.b, `pb1_${suffix}`);
    // A tenant whose whole path text starts with A's path text: a child of A's id-sibling.
    const paths = await world.admin.query("SELECT id::text, path::text FROM stratum_tenants WHERE id = ANY($1::uuid[])", [Object.values(ids)]);
    const path = Object.fromEntries(paths.rows.map((r: { id: string; path: string }) => [r.id, r.path]));
    expect(path[ids.b1]!.startsWith(path[ids.b]!)).toBe(true);
    const seeded: Record<string, Seeded> = {};
    for (const [k, id] of Object.entries(ids)) seeded[k] = await seed(world.client.prisma, { id } as Tenant, "SHARED_RLS");
    const view = world.solo.prisma.$tenant(ids.a, { descendants: true });
    const tenants = new Set((await view.user.findMany()).map((u) => u.tenant_id));
    expect(tenants).toEqual(new Set([ids.a, ids.a1]));
    const viewB = world.solo.prisma.$tenant(ids.b, { descendants: true });
    expect(new Set((await viewB.ticket.findMany()).map((u) => u.tenant_id))).toEqual(new Set([ids.b, ids.b1]));
    // A child's descendants view is the child alone.
    expect(new Set((await world.solo.prisma.$tenant(ids.a1, { descendants: true }).user.findMany()).map((u) => u.tenant_id))).toEqual(new Set([ids.a1]));
    // And the stratum service agrees.
    const desc = await world.client.prisma.$stratum.getDescendants(ids.a);
    expect(desc.map((d: { id: string }) => d.id).sort()).toEqual([ids.a1].sort().filter((x) => desc.some((d: { id: string }) => d.id === x)));
    expect(desc.some((d: { id: string }) => d.id === ids.b || d.id === ids.b1)).toBe(false);
  });
});
