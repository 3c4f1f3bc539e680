/**
 * Session state: what raw SQL on a `$tenant` client leaves on a pooled connection must never
 * reach the next borrower (another tenant, or stratum's own services). Each class is first shown
 * working where the defence is absent — the same statements through the unextended client on the
 * same driver, which are not marked raw and so get no session reset — then shown closed.
 *
 * Pools of 1 make "the next borrower" the connection the attack used; the pool-of-10 case poisons
 * every connection at once and checks each one after.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, createWorld, failure, type AttackClient, type Seeded, type World } from "./support.js";

let world: World;

beforeAll(async () => {
  world = await createWorld("atk_session", { withDatabase: true });
});

afterAll(async () => {
  await world?.close();
});

interface Fingerprint {
  pid: number;
  prepared: string[];
  cursors: number;
  channels: number;
  advisory: number;
  mark: string;
  temp: number;
}

/** Everything a session can carry between statements, as the next statement on it sees it. */
// Only the attack's own leftovers count (all named or keyed "attack…"/424x): stratum itself prepares
// its prelude and Prisma's statements on every clean connection, and the query's own portal is listed.
const FINGERPRINT_SQL = `SELECT pg_catalog.pg_backend_pid() AS pid,
  coalesce((SELECT pg_catalog.array_agg(p.name::text ORDER BY p.name) FROM pg_catalog.pg_prepared_statements p
             WHERE p.name ~ 'attack' OR p.statement ~ 'attack'), '{}') AS prepared,
  (SELECT pg_catalog.count(*) FROM pg_catalog.pg_cursors c WHERE c.name ~ 'attack')::int AS cursors,
  (SELECT pg_catalog.count(*) FROM pg_catalog.pg_listening_channels() AS ch(name) WHERE ch.name ~ 'attack')::int AS channels,
  (SELECT pg_catalog.count(*) FROM pg_catalog.pg_locks l
    WHERE l.locktype = 'advisory' AND l.pid = pg_catalog.pg_backend_pid() AND l.objid BETWEEN 4242 AND 4400)::int AS advisory,
  coalesce(pg_catalog.current_setting('attack.mark', true), '') AS mark,
  (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = pg_catalog.pg_my_temp_schema())::int AS temp`;

/** One state-leaving statement per kind of session state, and how the next borrower would see it. */
const LEFTOVERS: Array<[string, string, (f: Fingerprint) => boolean]> = [
  ["a prepared statement", "PREPARE attack_evil AS SELECT 1", (f) => f.prepared.includes("attack_evil")],
  ["a session setting", "SELECT pg_catalog.set_config('attack.mark', 'left behind', false)", (f) => f.mark === "left behind"],
  ["a session advisory lock", "SELECT pg_catalog.pg_advisory_lock(4242)", (f) => f.advisory > 0],
  ["a LISTEN", "LISTEN attack_channel", (f) => f.channels > 0],
  ["a held cursor", "DECLARE attack_cursor CURSOR WITH HOLD FOR SELECT 1", (f) => f.cursors > 0],
  ["a temporary table", "CREATE TEMP TABLE attack_shadow (id int)", (f) => f.temp > 0],
];

const CLEAN = { prepared: [], cursors: 0, channels: 0, advisory: 0, mark: "", temp: 0 };

function clean(f: Fingerprint): Omit<Fingerprint, "pid"> {
  const { pid: _pid, ...rest } = f;
  return rest;
}

async function fingerprint(client: AttackClient, tenantId?: string): Promise<Fingerprint> {
  const rows = tenantId
    ? await client.prisma.$tenant(tenantId).$queryRawUnsafe<Fingerprint[]>(FINGERPRINT_SQL)
    : await client.prisma.$queryRawUnsafe<Fingerprint[]>(FINGERPRINT_SQL);
  return rows[0]!;
}

/** TEMPORARY is revoked by the security migration; the reset alone is tested with it granted back. */
async function withTemporary<T>(fn: () => Promise<T>): Promise<T> {
  const grant = `GRANT TEMPORARY ON DATABASE "${world.db.name}" TO stratum_app`;
  await world.admin.query(grant);
  try {
    return await fn();
  } finally {
    await world.admin.query(`REVOKE TEMPORARY ON DATABASE "${world.db.name}" FROM stratum_app`);
  }
}

/** A marked raw statement resets the pool-of-1 connection after a weakened run. */
async function scrub(): Promise<void> {
  await world.solo.prisma.$executeRawUnsafe("SELECT 1");
  expect(clean(await fingerprint(world.solo))).toEqual(CLEAN);
}

describe("without the reset (unmarked statements), session state reaches the next borrower", () => {
  it.each(LEFTOVERS)("%s", async (_kind, sql, visible) => {
    await withTemporary(async () => {
      await world.solo.base.$executeRawUnsafe(sql);
      expect(visible(await fingerprint(world.solo))).toBe(true);
    });
    await scrub();
  });

  it("a re-prepared stratum_scope captures the next tenant's token, and with it that tenant's rows", async () => {
    const [attacker, victim] = world.rls;
    const stolen = await hijackPrelude(world.solo, attacker, victim, world.solo.base.$executeRawUnsafe.bind(world.solo.base));
    expect(stolen.token.startsWith(`${victim.tenant.id}.`)).toBe(true);
    expect(stolen.rows.map((r) => r.tenant_id)).toContain(victim.tenant.id);
    await scrub();
  });

  it("a raw BEGIN left open swallows the next tenant's write when the attacker rolls back", async () => {
    const [attacker, victim] = world.rls;
    const base = world.solo.base;
    const survived = await openTransactionAttack(attacker, victim, (sql) => base.$executeRawUnsafe(sql));
    expect(survived).toBe(false);
    await scrub();
  });
});

describe.each(["SHARED_RLS", "SCHEMA", "DATABASE"] as const)("%s: raw SQL on a $tenant client leaves nothing behind", (strategy) => {
  // A DATABASE tenant's pool serves only that tenant (and stratum): its next borrower is itself.
  const pair = (): [Seeded, Seeded] => {
    const [attacker, victim] = strategy === "SHARED_RLS" ? world.rls : strategy === "SCHEMA" ? world.schema : world.database!;
    return [attacker, strategy === "DATABASE" ? attacker : victim];
  };

  // TEMPORARY is granted back on the main database only (a tenant database keeps it revoked).
  const leftovers = strategy === "DATABASE" ? LEFTOVERS.filter(([kind]) => kind !== "a temporary table") : LEFTOVERS;

  it.each(leftovers)("%s is gone before the next borrower (pool of 1)", async (_kind, sql, visible) => {
    const [attacker, victim] = pair();
    await withTemporary(async () => {
      await world.solo.prisma.$tenant(attacker.tenant.id).$executeRawUnsafe(sql);
      const seen = await fingerprint(world.solo, victim.tenant.id);
      expect(visible(seen)).toBe(false);
      expect(clean(seen)).toEqual(CLEAN);
    });
  });

  it("every connection of a pool of 10 is clean after all of them were poisoned at once", async () => {
    const [attacker, victim] = pair();
    const t = world.client.prisma.$tenant(attacker.tenant.id);
    await withTemporary(() =>
      Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          t.$transaction(async (tx) => {
            // Inside a transaction, the reset comes when the transaction ends.
            await tx.$executeRawUnsafe(`PREPARE attack_tx_${i} AS SELECT 1`);
            await tx.$executeRawUnsafe("SELECT pg_catalog.set_config('attack.mark', 'left behind', false)");
            await tx.$executeRawUnsafe(`SELECT pg_catalog.pg_advisory_lock(${4300 + i})`);
          }),
        ),
      ),
    );
    const seen = await Promise.all(Array.from({ length: 10 }, () => fingerprint(world.client, victim.tenant.id)));
    for (const f of seen) expect(clean(f)).toEqual(CLEAN);
  });

  it("a re-prepared stratum_scope is discarded: the next tenant's token stays its own", async () => {
    const [attacker, victim] = pair();
    const t = world.solo.prisma.$tenant(attacker.tenant.id);
    const stolen = await hijackPrelude(world.solo, attacker, victim, t.$executeRawUnsafe.bind(t));
    expect(stolen.token).toBe("");
    expect(stolen.rows.map((r) => r.tenant_id).filter((id) => id !== attacker.tenant.id)).toEqual([]);
  });

  it("a raw BEGIN is rolled back at once: the next tenant's write survives the attacker's ROLLBACK", async () => {
    const [attacker, victim] = pair();
    const t = world.solo.prisma.$tenant(attacker.tenant.id);
    expect(await openTransactionAttack(attacker, victim, (sql) => t.$executeRawUnsafe(sql))).toBe(true);
  });
});

describe("one transaction, one tenant", () => {
  it("commit-time code runs under the last scope a transaction set (the mechanism)", async () => {
    const client = new pg.Client({ connectionString: world.db.adminUrl });
    await client.connect();
    try {
      await client.query("CREATE TEMP TABLE seen (scope text)");
      await client.query("CREATE TEMP TABLE target (id int)");
      await client.query(`CREATE FUNCTION pg_temp.record() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO pg_temp.seen VALUES (current_setting('stratum.tenant_id', true)); RETURN NULL; END $$`);
      await client.query(
        "CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT ON pg_temp.target DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.record()",
      );
      await client.query("BEGIN");
      await client.query("SELECT set_config('stratum.tenant_id', 'tenant-a', true)");
      await client.query("INSERT INTO pg_temp.target VALUES (1)");
      await client.query("SELECT set_config('stratum.tenant_id', 'tenant-b', true)");
      await client.query("COMMIT");
      expect((await client.query("SELECT scope FROM pg_temp.seen")).rows).toEqual([{ scope: "tenant-b" }]);
    } finally {
      await client.end();
    }
  });

  it("a user's transaction that acted for one tenant refuses another, and commits nothing", async () => {
    const [a, b] = world.rls;
    const p = world.client.prisma;
    const email = `mixed-${Math.random().toString(36).slice(2)}@x.test`;
    const error = await failure(
      p.$transaction(async (tx) => {
        await tx.$tenant(a.tenant.id).user.create({ data: { tenant_id: a.tenant.id, email, name: "a" } });
        await tx.$tenant(b.tenant.id).user.findMany();
      }),
    );
    expect(codeOf(error)).toBe("TENANT_SCOPE_VIOLATION");
    const { rows } = await world.admin.query("SELECT count(*)::int AS n FROM public.users WHERE email = $1", [email]);
    expect(rows[0].n).toBe(0);
  });

  it("stratum's own service calls and the same tenant again may join it", async () => {
    const [a] = world.rls;
    const p = world.client.prisma;
    const found = await p.$transaction(async (tx) => {
      const first = await tx.$tenant(a.tenant.id).user.findMany();
      const again = await tx.$tenant(a.tenant.id).ticket.count();
      return { first: first.length, again };
    });
    expect(found).toEqual({ first: a.users.length, again: a.tickets.length });
  });
});

describe("the app role cannot create session objects at all", () => {
  it.each([
    ["a temporary table", "CREATE TEMP TABLE attack_t (id int)"],
    ["a table in public", "CREATE TABLE public.attack_t (id int)"],
    ["a function in pg_temp", "CREATE FUNCTION pg_temp.attack_f() RETURNS int LANGUAGE sql AS 'SELECT 1'"],
  ])("%s is refused (42501)", async (_kind, sql) => {
    const [a] = world.rls;
    const error = await failure(world.solo.prisma.$tenant(a.tenant.id).$executeRawUnsafe(sql));
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error ?? {})) + String(error)).toMatch(/42501|permission denied/);
  });

  it("with TEMPORARY granted back, the same temporary table is accepted (the privilege is what refuses it)", async () => {
    const [a] = world.rls;
    await withTemporary(() => world.solo.prisma.$tenant(a.tenant.id).$executeRawUnsafe("CREATE TEMP TABLE attack_t (id int)"));
  });
});

/**
 * Re-prepares stratum's prelude so it also copies the token it is given into a session setting,
 * lets the victim run one scoped read on the same connection, then reads the loot and uses it.
 */
async function hijackPrelude(
  client: AttackClient,
  attacker: Seeded,
  victim: Seeded,
  run: (sql: string) => PromiseLike<unknown>,
): Promise<{ token: string; rows: Array<{ tenant_id: string }> }> {
  // One statement (a DO block), so no other borrower can re-prepare the name in between.
  await run(
    `DO $do$ BEGIN
       IF EXISTS (SELECT 1 FROM pg_catalog.pg_prepared_statements WHERE name = 'stratum_scope') THEN EXECUTE 'DEALLOCATE stratum_scope'; END IF;
       EXECUTE $q$PREPARE stratum_scope(text, text, text, text, text, text) AS SELECT pg_catalog.set_config('stratum.tenant_id', $1, true),
         pg_catalog.set_config('search_path', $2, true), pg_catalog.set_config('transaction_read_only', $3, true),
         pg_catalog.set_config('attack.loot', coalesce(pg_catalog.current_setting('attack.loot', true), '') || ' ' || $1, false),
         pg_catalog.set_config('stratum.request_id', $5, true), $6$q$;
     END $do$`,
  );
  await client.prisma.$tenant(victim.tenant.id).user.findMany();
  const t = client.prisma.$tenant(attacker.tenant.id);
  const [loot] = await t.$queryRawUnsafe<Array<{ token: string }>>("SELECT coalesce(pg_catalog.current_setting('attack.loot', true), '') AS token");
  // Every token the hijacked prelude was handed (stratum's own admin token among them, often).
  const token = (loot?.token ?? "").split(" ").find((t) => t.startsWith(victim.tenant.id)) ?? "";
  if (!token) return { token, rows: await t.$queryRawUnsafe<Array<{ tenant_id: string }>>("SELECT tenant_id::text FROM public.users") };
  const rows = await client.base.$transaction(async (tx) => {
    await tx.$executeRawUnsafe("SELECT pg_catalog.set_config('stratum.tenant_id', $1, true)", token);
    return tx.$queryRawUnsafe<Array<{ tenant_id: string }>>("SELECT tenant_id::text FROM public.users");
  });
  return { token, rows };
}

/** Raw BEGIN, the victim's create on the same connection, the attacker's ROLLBACK: did it survive? */
async function openTransactionAttack(attacker: Seeded, victim: Seeded, run: (sql: string) => PromiseLike<unknown>): Promise<boolean> {
  const email = `victim-${attacker.tenant.id.slice(0, 8)}-${Math.random().toString(36).slice(2)}@x.test`;
  await run("BEGIN");
  const created = await world.solo.prisma.$tenant(victim.tenant.id).user.create({ data: { tenant_id: victim.tenant.id, email, name: "victim" } });
  expect(created.email).toBe(email);
  await failure(Promise.resolve(run("ROLLBACK")));
  const rows = await world.solo.prisma.$tenant(victim.tenant.id).user.findMany({ where: { email } });
  return rows.length === 1;
}
