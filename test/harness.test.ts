import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { resolvePostgres, withDatabase } from "./harness/postgres.js";
import { redisUrl, resolveRedis } from "./harness/redis.js";
import { APP_ROLE, OWNER_ROLE, ensureRoles } from "./harness/roles.js";
import { startSecondPostgres } from "./harness/second-postgres.js";
import { TEMPLATE_PREFIX, templateHash } from "./harness/template.js";

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("test databases", () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase({ label: "harness" });
  });
  afterAll(() => tdb.drop());

  it("are cloned from the migrated template of this hash, owned by stratum_owner", async () => {
    expect(inject("stratumTemplate")).toBe(`${TEMPLATE_PREFIX}${templateHash()}`);
    const row = await withClient(tdb.adminUrl, async (c) => {
      const r = await c.query<{ owner: string; db: string; n: string }>(
        `SELECT pg_get_userbyid(d.datdba) AS owner, current_database() AS db,
                (SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL) AS n
           FROM pg_database d WHERE d.datname = current_database()`,
      );
      return r.rows[0];
    });
    expect(row).toMatchObject({ owner: OWNER_ROLE, db: tdb.name });
    expect(Number(row?.n)).toBeGreaterThan(0);
  });

  it("carry this run's random 32-byte scope key (inject and env)", async () => {
    const key = inject("scopeKey");
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(process.env.STRATUM_TEST_SCOPE_KEY).toBe(key);
    const stored = await withClient(tdb.ownerUrl, (c) => c.query<{ key: string }>(`SELECT key FROM stratum_scope_keys WHERE id = 1`));
    expect(stored.rows[0]?.key).toBe(key);
  });

  it("connect as the owner and as the app role", async () => {
    expect(await withClient(tdb.ownerUrl, async (c) => (await c.query<{ u: string }>("SELECT current_user AS u")).rows[0]?.u)).toBe(OWNER_ROLE);
    expect(await withClient(tdb.appUrl, async (c) => (await c.query<{ u: string }>("SELECT current_user AS u")).rows[0]?.u)).toBe(APP_ROLE);
  });

  it("give the app role no superuser, no BYPASSRLS, no CREATEDB/CREATEROLE, and no ownership (rule 3)", async () => {
    const role = await withClient(tdb.adminUrl, (c) =>
      c.query(`SELECT rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = $1`, [APP_ROLE]),
    );
    expect(role.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false, rolcreatedb: false, rolcreaterole: false, rolcanlogin: true });
    const owned = await withClient(tdb.adminUrl, (c) =>
      c.query<{ what: string }>(
        `SELECT 'relation ' || c.relname AS what FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1
         UNION ALL SELECT 'schema ' || n.nspname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE r.rolname = $1
         UNION ALL SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE r.rolname = $1
         UNION ALL SELECT 'database ' || d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1`,
        [APP_ROLE],
      ),
    );
    expect(owned.rows).toEqual([]);
    const tables = await withClient(tdb.adminUrl, (c) =>
      c.query<{ tablename: string; tableowner: string }>(`SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'`),
    );
    expect(tables.rows.length).toBeGreaterThan(0);
    for (const t of tables.rows) expect(t.tableowner, t.tablename).toBe(OWNER_ROLE);
    const owner = await withClient(tdb.adminUrl, (c) => c.query(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`, [OWNER_ROLE]));
    expect(owner.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
  });

  it("are independent of each other and dropped by drop()", async () => {
    const other = await createTestDatabase();
    expect(other.name).not.toBe(tdb.name);
    await withClient(other.ownerUrl, (c) => c.query(`CREATE TABLE only_here (id int)`));
    const seen = await withClient(tdb.ownerUrl, (c) => c.query<{ t: string | null }>(`SELECT to_regclass('only_here')::text AS t`));
    expect(seen.rows[0]?.t).toBeNull();
    await other.drop();
    const gone = await withClient(inject("stratumAdminUrl"), (c) => c.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [other.name]));
    expect(gone.rowCount).toBe(0);
  });
});

describe("roles", () => {
  it("are created idempotently when parallel workers race", async () => {
    await Promise.all(Array.from({ length: 6 }, () => ensureRoles(inject("stratumAdminUrl"))));
    const n = await withClient(inject("stratumAdminUrl"), (c) =>
      c.query(`SELECT rolname FROM pg_roles WHERE rolname IN ($1, $2) ORDER BY 1`, [APP_ROLE, OWNER_ROLE]),
    );
    expect(n.rows.map((r) => r.rolname)).toEqual([APP_ROLE, OWNER_ROLE]);
  });
});

describe("service discovery fails loudly", () => {
  it("PostgreSQL: a DATABASE_URL that does not answer is an error naming what to start", async () => {
    await withEnv({ DATABASE_URL: "postgresql://postgres@127.0.0.1:1/test" }, async () => {
      await expect(resolvePostgres()).rejects.toThrow(/DATABASE_URL does not answer.*pg_ctlcluster/s);
    });
  });

  it("Redis: a REDIS_URL that does not answer is an error naming what to start", async () => {
    await withEnv({ REDIS_URL: "redis://127.0.0.1:1" }, async () => {
      await expect(resolveRedis()).rejects.toThrow(/REDIS_URL does not answer.*redis-server/s);
    });
  });

  it("Redis of this run answers", async () => {
    const client = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    try {
      expect(await client.ping()).toBe("PONG");
    } finally {
      client.disconnect();
    }
  });
});

describe("second PostgreSQL (database-per-tenant on another server)", () => {
  it("starts once per run on its own port, listening on 127.0.0.1, with the same roles", async () => {
    const [a, b] = await Promise.all([startSecondPostgres(), startSecondPostgres()]);
    expect(a.port).toBe(b.port);
    expect(a.port).not.toBe(5432);
    const info = await withClient(a.adminUrl, (c) =>
      c.query<{ v: string; listen: string; roles: string[] }>(
        `SELECT current_setting('server_version_num') AS v, current_setting('listen_addresses') AS listen,
                ARRAY(SELECT rolname::text FROM pg_roles WHERE rolname IN ('stratum_owner', 'stratum_app') ORDER BY 1) AS roles`,
      ),
    );
    expect(info.rows[0]?.v).toMatch(/^15/);
    expect(info.rows[0]?.listen).toBe("127.0.0.1");
    expect(info.rows[0]?.roles).toEqual([APP_ROLE, OWNER_ROLE]);
    const again = await startSecondPostgres();
    expect(again.port).toBe(a.port);
    // and it is a separate server: a database created there is not on the main one
    await withClient(a.adminUrl, (c) => c.query(`CREATE DATABASE only_on_second OWNER ${OWNER_ROLE}`));
    const main = await withClient(inject("stratumAdminUrl"), (c) => c.query(`SELECT 1 FROM pg_database WHERE datname = 'only_on_second'`));
    expect(main.rowCount).toBe(0);
    await withClient(withDatabase(a.adminUrl, "only_on_second"), (c) => c.query("SELECT 1"));
  });
});
