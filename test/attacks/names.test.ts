/**
 * Names (docs/architecture.md "Session hygiene"; docs/security.md). A name PostgreSQL resolves through the search_path can be
 * redirected by whatever a session holds (a temporary table shadows every unqualified relation
 * when pg_temp is not listed), and a name a tenant chose can equal something that already exists.
 * So: stratum's own SQL names its schema, every scope's search_path puts pg_temp last, a
 * tenant's home accepts only that tenant's rows, and homes are named from the tenant id, refused
 * up front when the name exists, and cleaned up only when this call made them.
 */
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stratumModels } from "../../generated/stratum/index.js";
import { tenantTablesOf } from "../../src/extension/strategies.js";
import { databaseStrategy } from "../../src/isolation/database.js";
import { HOME_CHECK } from "../../src/isolation/ddl.js";
import { homeDatabaseName, homeSchemaName, SHARED_SEARCH_PATH, schemaSearchPath } from "../../src/isolation/names.js";
import { legacySchemaName, schemaStrategy } from "../../src/isolation/schema.js";
import type { AdminAccess, ProvisionContext, TenantRoute } from "../../src/isolation/strategy.js";
import { withDatabase } from "../harness/postgres.js";
import { startSecondPostgres } from "../harness/second-postgres.js";
import { codeOf, createWorld, expectClean, expectNoLeak, failure, render, seed, uniq, type World } from "./support.js";

let world: World;

beforeAll(async () => {
  world = await createWorld("atk_names", { withDatabase: true });
});

afterAll(async () => {
  await world?.close();
});

afterEach(async () => {
  await expectClean(world.solo);
});

/** A superuser client on the test database (a session of our own, for temp objects). */
async function superuser(database?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: database ? withDatabase(world.db.adminUrl, database) : world.db.adminUrl });
  await client.connect();
  return client;
}

/** Admin access for calling the strategies directly: owner on the main database, superuser on the server. */
function adminAccess(): AdminAccess {
  const connect = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  };
  return {
    main: () => connect(world.db.ownerUrl),
    server: () => connect(withDatabase(world.db.adminUrl, "postgres")),
    database: (placement) => connect(withDatabase(world.db.adminUrl, placement.split("/")[1]!)),
    servers: () => ["main"],
  };
}

function provisionContext(tables = tenantTablesOf(stratumModels)): ProvisionContext {
  return { admin: adminAccess(), tenantTables: tables, appRole: "stratum_app", server: "main" };
}

function route(id: string, slug: string, strategy: TenantRoute["isolation_strategy"], placement: string | null = null): TenantRoute {
  return { id, slug, status: "active", isolation_strategy: strategy, placement };
}

/** stratum's tables, as the migrations create them. */
const STRATUM_TABLES = [
  ...new Set(
    readdirSync("prisma/migrations")
      .filter((d) => statSync(join("prisma/migrations", d)).isDirectory())
      .flatMap((d) =>
        [
          ...readFileSync(join("prisma/migrations", d, "migration.sql"), "utf8").matchAll(
            /CREATE TABLE (?:IF NOT EXISTS )?(?:"?public"?\.)?"?(stratum_[a-z_]+)"?/g,
          ),
        ].map((m) => m[1]!),
      ),
  ),
];
const RELATION_USE = new RegExp(`\\b(FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE|USING|REFERENCES)\\s+("?(?:${STRATUM_TABLES.join("|")})\\b"?)`, "gi");

/** stratum's tables named without a schema in one SQL text. */
function bareRelations(sql: string): string[] {
  return [...sql.matchAll(RELATION_USE)].map((m) => `${m[1]} ${m[2]}`);
}

describe("stratum's own SQL names its schema", () => {
  it("an unqualified name is what a temporary table captures (the mechanism), and a qualified one is not", async () => {
    const client = await superuser();
    try {
      const real = (await client.query("SELECT count(*)::int AS n FROM public.stratum_tenants")).rows[0].n as number;
      expect(real).toBeGreaterThan(0);
      await client.query("CREATE TEMP TABLE stratum_tenants (LIKE public.stratum_tenants)");
      // pg_temp not listed in the search_path: searched first, so the bare name is the empty temp table.
      expect((await client.query("SELECT count(*)::int AS n FROM stratum_tenants")).rows[0].n).toBe(0);
      expect((await client.query("SELECT count(*)::int AS n FROM public.stratum_tenants")).rows[0].n).toBe(real);
      // The scope's search_path lists pg_temp last: even a bare name resolves to the real table.
      await client.query("BEGIN");
      await client.query("SELECT pg_catalog.set_config('search_path', $1, true)", [SHARED_SEARCH_PATH]);
      expect((await client.query("SELECT count(*)::int AS n FROM stratum_tenants")).rows[0].n).toBe(real);
      await client.query("COMMIT");
    } finally {
      await client.end();
    }
  });

  it("every statement the services send names stratum's tables with their schema", async () => {
    // Captured at the wire: every Parse and simple Query any pg client in this process sends.
    const sent: string[] = [];
    type Method = (this: unknown, ...args: unknown[]) => unknown;
    const proto = (pg as unknown as { Connection: { prototype: Record<string, Method> } }).Connection.prototype;
    const original = { parse: proto["parse"]!, query: proto["query"]! };
    proto["parse"] = function (this: unknown, config: unknown, ...rest: unknown[]) {
      const text = (config as { text?: unknown } | undefined)?.text;
      if (typeof text === "string") sent.push(text);
      return original.parse.call(this, config, ...rest);
    };
    proto["query"] = function (this: unknown, text: unknown, ...rest: unknown[]) {
      if (typeof text === "string") sent.push(text);
      return original.query.call(this, text, ...rest);
    };
    const s = world.client.prisma.$stratum;
    try {
      const parent = await s.createTenant({ name: `names ${uniq()}` });
      const child = await s.createTenant({ name: `names child ${uniq()}`, parent_id: parent.id, isolation_strategy: "SCHEMA" });
      await s.setConfig(parent.id, "plan", { value: "gold" });
      await s.resolveConfig(child.id);
      await s.getConfig(child.id);
      await s.createPermission(parent.id, { key: `perm_${uniq()}`, value: true, mode: "INHERITED" });
      await s.resolvePermissions(child.id);
      await s.createPolicy(parent.id, { name: `pol_${uniq()}`, effect: "allow", actions: ["read"] });
      await s.listPolicies(child.id, { inherited: true });
      await s.createApiKey({ name: "names", scopes: ["tenants:read"], tenant_id: parent.id });
      await s.listAudit(parent.id);
      await s.grantConsent(child.id, "subject-1", "marketing_email", "signup_form");
      await s.listConsents(child.id, "subject-1");
      await s.getDescendants(parent.id);
      await s.getAncestors(child.id);
      await s.exportTenantDataJson(child.id);
      await s.setIsolation(child.id, "SHARED_RLS");
      await s.migrateTenantHomes();
      await s.updateTenant(child.id, { name: "renamed" });
      await s.deleteTenant(parent.id, { cascade: true });
    } finally {
      proto["parse"] = original.parse;
      proto["query"] = original.query;
    }
    const own = sent.filter((sql) => /stratum_/.test(sql));
    expect(STRATUM_TABLES).toEqual(expect.arrayContaining(["stratum_tenants", "stratum_config", "stratum_audit", "stratum_isolation_moves"]));
    expect(own.length).toBeGreaterThan(30);
    // The check would see a bare name: it is not vacuous.
    expect(bareRelations("SELECT 1 FROM stratum_tenants t JOIN public.stratum_config c ON true")).toEqual(["FROM stratum_tenants"]);
    expect(own.flatMap((sql) => bareRelations(sql).map((b) => `${b} in: ${sql.slice(0, 160)}`))).toEqual([]);
  });

  it("no SQL text in src/ or generators/sql names a stratum table without its schema (covers paths no test ran)", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.tsx?$/.test(name)) files.push(path);
      }
    };
    for (const dir of ["src", "generators/sql"]) walk(dir);
    const found: string[] = [];
    for (const file of files.filter((f) => !/src\/(react|sdk)\//.test(f))) {
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // prose in comments
          for (const b of bareRelations(line)) found.push(`${file}:${i + 1}: ${b}`);
        });
    }
    expect(found).toEqual([]);
  });
});

describe("every scope's search_path lists pg_catalog first and pg_temp last", () => {
  const layout = (path: string) => path.split(",").map((p) => p.trim());

  it("each strategy's scope, as the tenant's own statements see it", async () => {
    const cases: Array<[string, string]> = [
      [world.rls[0].tenant.id, SHARED_SEARCH_PATH],
      [world.schema[0].tenant.id, schemaSearchPath(world.schema[0].tenant.placement!)],
      [world.database![0].tenant.id, SHARED_SEARCH_PATH],
    ];
    for (const client of [world.solo, world.client]) {
      for (const [id, expected] of cases) {
        const [row] = await client.prisma.$tenant(id).$queryRawUnsafe<Array<{ p: string }>>("SELECT current_setting('search_path') AS p");
        expect(row!.p).toBe(expected);
        expect(layout(row!.p)[0]).toBe("pg_catalog");
        expect(layout(row!.p).at(-1)).toBe("pg_temp");
      }
    }
  });

  it("a temporary table cannot stand in for a SCHEMA tenant's table under its scope's search_path", async () => {
    const [a] = world.schema;
    const client = await superuser();
    try {
      const real = (await client.query(`SELECT count(*)::int AS n FROM "${a.tenant.placement}".users`)).rows[0].n as number;
      expect(real).toBe(a.users.length);
      await client.query("CREATE TEMP TABLE users (LIKE public.users)");
      await client.query("BEGIN");
      // Without pg_temp listed (the old scope: the schema alone), the temp table wins.
      await client.query("SELECT pg_catalog.set_config('search_path', $1, true)", [`"${a.tenant.placement}"`]);
      expect((await client.query("SELECT count(*)::int AS n FROM users")).rows[0].n).toBe(0);
      await client.query("SELECT pg_catalog.set_config('search_path', $1, true)", [schemaSearchPath(a.tenant.placement!)]);
      expect((await client.query("SELECT count(*)::int AS n FROM users")).rows[0].n).toBe(real);
      await client.query("COMMIT");
    } finally {
      await client.end();
    }
  });

  it("a search_path set by raw SQL does not survive into the next statement of stratum's services", async () => {
    const [a] = world.rls;
    const t = world.solo.prisma.$tenant(a.tenant.id);
    await failure(t.$executeRawUnsafe("SET search_path TO pg_temp, public"));
    // The raw statement does change its session's search_path (pg_temp alone: temp objects first) ...
    const [set] = await t.$queryRawUnsafe<Array<{ p: string }>>("SELECT set_config('search_path', 'pg_temp', false) AS p");
    expect(set!.p).toBe("pg_temp");
    // ... but the next borrower of the single connection, stratum itself, runs under its own search_path.
    expect((await world.solo.prisma.$stratum.getTenant(a.tenant.id)).id).toBe(a.tenant.id);
    const [row] = await t.$queryRawUnsafe<Array<{ p: string }>>("SELECT current_setting('search_path') AS p");
    expect(row!.p).toBe(SHARED_SEARCH_PATH);
  });
});

describe("a tenant's home accepts only that tenant's rows, whoever writes", () => {
  for (const pool of ["solo", "client"] as const) {
    it(`tenant A cannot insert its own rows into B's schema by naming it (pool ${pool === "solo" ? 1 : 10})`, async () => {
      const [a, b] = world.schema;
      const t = world[pool].prisma.$tenant(a.tenant.id);
      const target = `"${b.tenant.placement}".users`;
      const email = `planted-${uniq()}@x.test`;
      const plant = () => t.$executeRawUnsafe(`INSERT INTO ${target} (id, tenant_id, email) VALUES (gen_random_uuid(), '${a.tenant.id}'::uuid, '${email}')`);
      const planted = async () => (await world.admin.query(`SELECT count(*)::int AS n FROM ${target} WHERE email = $1`, [email])).rows[0].n as number;
      // Without the check, RLS admits the row (its tenant_id is A's own) and it lands in B's home.
      await world.admin.query(`ALTER TABLE ${target} DROP CONSTRAINT ${HOME_CHECK}`);
      try {
        expect(await failure(plant())).toBeUndefined();
        expect(await planted()).toBe(1);
        await world.admin.query(`DELETE FROM ${target} WHERE email = $1`, [email]);
      } finally {
        await world.admin.query(`ALTER TABLE ${target} ADD CONSTRAINT ${HOME_CHECK} CHECK (tenant_id = '${b.tenant.id}')`);
      }
      const error = await failure(plant());
      expect(render(error)).toMatch(/check constraint|23514/);
      expectNoLeak(error, [b]);
      expect(await planted()).toBe(0);
      // B's own writes still land.
      await world[pool].prisma.$tenant(b.tenant.id).user.update({ where: { id: b.users[0]!.id }, data: { name: b.users[0]!.name } });
    });
  }

  it("every tenant table of every SCHEMA and DATABASE home has the check, re-added by migrateTenantHomes", async () => {
    const tables = tenantTablesOf(stratumModels).map((t) => t.table);
    const checked = async (client: pg.Client | pg.Pool, schema: string) =>
      (
        await client.query(
          `SELECT c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE k.conname = $1 AND n.nspname = $2 ORDER BY 1`,
          [HOME_CHECK, schema],
        )
      ).rows.map((r: { relname: string }) => r.relname);
    const [s] = world.schema;
    expect(await checked(world.admin, s.tenant.placement!)).toEqual([...tables].sort());
    const [d] = world.database!;
    const tenantDb = new pg.Client({ connectionString: withDatabase((await startSecondPostgres()).adminUrl, d.tenant.placement!.split("/")[1]!) });
    await tenantDb.connect();
    try {
      expect(await checked(tenantDb, "public")).toEqual([...tables].sort());
    } finally {
      await tenantDb.end();
    }
    // Dropped by hand: the fan-out puts it back (and would on a table added later).
    await world.admin.query(`ALTER TABLE "${s.tenant.placement}".tickets DROP CONSTRAINT ${HOME_CHECK}`);
    expect(await checked(world.admin, s.tenant.placement!)).not.toContain("tickets");
    const result = await world.client.prisma.$stratum.migrateTenantHomes({ tenantIds: [s.tenant.id, d.tenant.id] });
    expect(result.ok).toBe(true);
    expect(await checked(world.admin, s.tenant.placement!)).toEqual([...tables].sort());
  });

  it("a move into a SCHEMA home keeps working and the new home has the check", async () => {
    const p = world.client.prisma;
    const tenant = await p.$stratum.createTenant({ name: `mover ${uniq()}` });
    const seeded = await seed(p, tenant, "SHARED_RLS");
    const moved = await p.$stratum.setIsolation(tenant.id, "SCHEMA");
    expect(moved.moved).toBe(true);
    const home = moved.to.placement!;
    expect(home).toBe(homeSchemaName(tenant.id));
    expect((await world.admin.query(`SELECT count(*)::int AS n FROM "${home}".users`)).rows[0].n).toBe(seeded.users.length);
    const n = (
      await world.admin.query(
        `SELECT count(*)::int AS n FROM pg_constraint k JOIN pg_namespace s ON s.oid = k.connamespace WHERE k.conname = $1 AND s.nspname = $2`,
        [HOME_CHECK, home],
      )
    ).rows[0].n;
    expect(n).toBe(tenantTablesOf(stratumModels).length);
    await p.$tenant(tenant.id).user.create({ data: { tenant_id: tenant.id, email: `after-move-${uniq()}@x.test` } });
    await p.$stratum.deleteTenant(tenant.id, { cascade: true });
  });
});

describe("tenant-chosen names never reach DDL", () => {
  it("homes are named from the tenant id: no slug appears in pg_namespace or pg_database", async () => {
    for (const s of world.schema) expect(s.tenant.placement).toBe(homeSchemaName(s.tenant.id));
    for (const d of world.database!) expect(d.tenant.placement).toBe(`second/${homeDatabaseName(d.tenant.id)}`);
    const slugs = world.all.map((s) => s.tenant.slug);
    const schemas = await world.admin.query("SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)", [slugs]);
    expect(schemas.rows).toEqual([]);
    const second = new pg.Client({ connectionString: (await startSecondPostgres()).adminUrl });
    await second.connect();
    try {
      const databases = await second.query("SELECT datname FROM pg_database WHERE datname = ANY($1)", [[...slugs, ...slugs.map((s) => `stratum_t_${s}`)]]);
      expect(databases.rows).toEqual([]);
    } finally {
      await second.end();
    }
  });

  it("a slug equal to an existing schema creates the tenant elsewhere; the schema and its row survive a failed create", async () => {
    const name = `keep_${uniq()}`;
    await world.admin.query(`CREATE SCHEMA "${name}"`);
    await world.admin.query(`CREATE TABLE "${name}".precious (v text)`);
    await world.admin.query(`INSERT INTO "${name}".precious VALUES ('survivor')`);
    const marker = `doomed ${uniq()}`;
    // A create that fails after its home was made: the audit row of this one tenant is refused.
    await world.admin.query(`CREATE FUNCTION public.atk_refuse_create() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF NEW.action = 'tenant.create' AND NEW.after->>'name' = '${marker}' THEN
          RAISE EXCEPTION 'atk_refused homes=%', (SELECT string_agg(nspname, ',') FROM pg_namespace WHERE nspname LIKE 't\\_%');
        END IF;
        RETURN NEW;
      END $fn$`);
    await world.admin.query("CREATE TRIGGER atk_refuse_create BEFORE INSERT ON public.stratum_audit FOR EACH ROW EXECUTE FUNCTION public.atk_refuse_create()");
    const homesNow = async () =>
      new Set((await world.admin.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'")).rows.map((r: { nspname: string }) => r.nspname));
    try {
      const before = await homesNow();
      // The slug names the existing schema: a slug-named home would be that very schema.
      expect(legacySchemaName({ slug: name })).toBe(name);
      const error = await failure(world.client.prisma.$stratum.createTenant({ name: marker, slug: name, isolation_strategy: "SCHEMA" }));
      const message = render(error);
      expect(message).toMatch(/atk_refused homes=/);
      // The clean-up had a home of its own to remove (it existed when the create failed) ...
      const during = /atk_refused homes=([^\s"\\]*)/
        .exec(message)![1]!
        .split(",")
        .filter((h) => h && !before.has(h));
      expect(during).toHaveLength(1);
      // ... removed it, and nothing else.
      expect(await homesNow()).toEqual(before);
      expect((await world.admin.query(`SELECT v FROM "${name}".precious`)).rows).toEqual([{ v: "survivor" }]);
    } finally {
      await world.admin.query("DROP TRIGGER atk_refuse_create ON public.stratum_audit");
      await world.admin.query("DROP FUNCTION public.atk_refuse_create()");
    }
    // Without the failure the same slug makes a tenant, in a home of its own.
    const made = await world.client.prisma.$stratum.createTenant({ name: `kept ${uniq()}`, slug: name, isolation_strategy: "SCHEMA" });
    expect(made.placement).toBe(homeSchemaName(made.id));
    expect((await world.admin.query(`SELECT v FROM "${name}".precious`)).rows).toEqual([{ v: "survivor" }]);
    await world.client.prisma.$stratum.deleteTenant(made.id, { cascade: true });
    expect((await world.admin.query(`SELECT v FROM "${name}".precious`)).rows).toEqual([{ v: "survivor" }]);
    await world.admin.query(`DROP SCHEMA "${name}" CASCADE`);
  });

  it("a tenant without a recorded home is never routed into an id-named home by its slug", () => {
    const [, b] = world.schema;
    const strategy = schemaStrategy(["users"]);
    const sign = () => "token";
    // Routing falls back to the slug only for tenants made before homes were named from ids ...
    expect(strategy.scope(route(randomUUID(), "legacy_home", "SCHEMA"), { mode: "s", readOnly: false }, sign).searchPath).toBe(schemaSearchPath("legacy_home"));
    // ... and a slug equal to another tenant's home would land there: it is refused.
    let error: unknown;
    try {
      strategy.scope(route(randomUUID(), b.tenant.placement!, "SCHEMA"), { mode: "s", readOnly: false }, sign);
    } catch (e) {
      error = e;
    }
    expect(codeOf(error)).toBe("INVALID_SLUG");
  });

  it("a SCHEMA home whose name exists is refused up front (CONFLICT) and left alone, as is a slug-named schema on deprovision", async () => {
    const id = randomUUID();
    const name = homeSchemaName(id);
    await world.admin.query(`CREATE SCHEMA "${name}"`);
    await world.admin.query(`CREATE TABLE "${name}".precious (v text)`);
    await world.admin.query(`INSERT INTO "${name}".precious VALUES ('survivor')`);
    try {
      const strategy = schemaStrategy(tenantTablesOf(stratumModels).map((t) => t.table));
      const error = await failure(strategy.provision(route(id, "whatever", "SCHEMA"), provisionContext()));
      expect(codeOf(error)).toBe("CONFLICT");
      expect((await world.admin.query(`SELECT v FROM "${name}".precious`)).rows).toEqual([{ v: "survivor" }]);
      // A tenant without a recorded home owns nothing: deprovision never falls back to its slug.
      await strategy.deprovision(route(id, name, "SCHEMA"), provisionContext());
      expect((await world.admin.query(`SELECT v FROM "${name}".precious`)).rows).toEqual([{ v: "survivor" }]);
    } finally {
      await world.admin.query(`DROP SCHEMA "${name}" CASCADE`);
    }
  });

  it("a DATABASE home whose name exists is refused up front; a failed provision drops only the database it made", async () => {
    const id = randomUUID();
    const name = homeDatabaseName(id);
    const server = await superuser("postgres");
    try {
      await server.query(`CREATE DATABASE "${name}"`);
      const inside = await superuser(name);
      await inside.query("CREATE TABLE precious (v text)");
      await inside.query("INSERT INTO precious VALUES ('survivor')");
      await inside.end();
      const strategy = databaseStrategy();
      const refused = await failure(strategy.provision(route(id, "whatever", "DATABASE"), provisionContext()));
      expect(codeOf(refused)).toBe("CONFLICT");
      const check = await superuser(name);
      expect((await check.query("SELECT v FROM precious")).rows).toEqual([{ v: "survivor" }]);
      await check.end();
      await server.query(`DROP DATABASE "${name}" WITH (FORCE)`);
      // Now a provision that fails after CREATE DATABASE (a tenant table the template lacks) drops what it made.
      const broken = [...tenantTablesOf(stratumModels), { table: `atk_missing_${uniq()}`, tenantColumn: "tenant_id" }];
      const failed = await failure(strategy.provision(route(id, "whatever", "DATABASE"), provisionContext(broken)));
      expect(render(failed)).toMatch(/does not exist/);
      expect((await server.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rows).toEqual([]);
    } finally {
      await server.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
      await server.end();
    }
  });
});
