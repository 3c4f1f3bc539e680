/**
 * Behind a real PgBouncer in transaction mode (Debian's package): scoped queries work with
 * Prisma's `?pgbouncer=true`, concurrent tenants see only their own rows, and raw SQL leaves
 * nothing on the server sessions the bouncer hands to the next client. First, what happens
 * without the mode: the named prelude collides on the shared server sessions.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Tenant } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { startPgBouncer, type PgBouncer } from "../harness/pgbouncer.js";
import { attackClient, codeOf, failure, type AttackClient } from "./support.js";

let db: TestDatabase;
let bouncer: PgBouncer;
let pooled: AttackClient;
let admin: pg.Pool;
const tenants: Tenant[] = [];
const ROWS = 3;

beforeAll(async () => {
  db = await createTestDatabase({ label: "pooler" });
  const target = new URL(db.adminUrl);
  bouncer = await startPgBouncer({ host: target.hostname, port: Number(target.port || 5432) });
  pooled = attackClient(db, { appUrl: `${bouncer.through(db.appUrl)}${db.appUrl.includes("?") ? "&" : "?"}pgbouncer=true`, poolSize: 10 });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  for (let i = 0; i < 8; i++) {
    const t = await pooled.prisma.$stratum.createTenant({ name: `Pooled ${i}`, isolation_strategy: i % 2 ? "SCHEMA" : "SHARED_RLS" });
    await pooled.prisma.$tenant(t.id).user.createMany({ data: Array.from({ length: ROWS }, (_, j) => ({ tenant_id: t.id, email: `p${i}-${j}@pool.test` })) });
    tenants.push(t);
  }
});

afterAll(async () => {
  await pooled?.close().catch(() => undefined);
  await admin?.end().catch(() => undefined);
  await bouncer?.stop();
  await db?.drop();
});

it("without pooler mode, the named prelude collides on the bouncer's shared sessions (why the mode exists)", async () => {
  const plain = attackClient(db, { appUrl: bouncer.through(db.appUrl), poolSize: 10 });
  try {
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => failure(plain.prisma.$tenant(tenants[i % tenants.length]!.id).user.findMany())));
    const errors = outcomes.filter((e) => e !== undefined);
    expect(errors.length).toBeGreaterThan(0);
    // Told what happened and how to fix it, by code.
    expect(errors.some((e) => codeOf(e) === "POOLER_DETECTED" && String((e as Error).message).includes("?pgbouncer=true"))).toBe(true);
  } finally {
    await plain.close();
  }
});

describe("with ?pgbouncer=true", () => {
  it("concurrent reads of eight tenants, mixed strategies: each sees exactly its own rows, no errors", async () => {
    const results = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const t = tenants[i % tenants.length]!;
        const rows = await pooled.prisma.$tenant(t.id).user.findMany();
        return rows.length === ROWS && rows.every((r) => r.tenant_id === t.id);
      }),
    );
    expect(results.filter((ok) => !ok)).toEqual([]);
  });

  it("interactive transactions commit and roll back as one, per tenant", async () => {
    const t = tenants[1]!;
    const p = pooled.prisma.$tenant(t.id);
    await p.$transaction(async (tx) => {
      await tx.user.create({ data: { tenant_id: t.id, email: "tx-commit@pool.test" } });
    });
    await failure(
      p.$transaction(async (tx) => {
        await tx.user.create({ data: { tenant_id: t.id, email: "tx-rollback@pool.test" } });
        throw new Error("roll back");
      }),
    );
    expect((await p.user.findMany({ where: { email: { startsWith: "tx-" } } })).map((u) => u.email)).toEqual(["tx-commit@pool.test"]);
  });

  it("raw SQL's session state never reaches the next client of any server session", async () => {
    const [attacker, victim] = [tenants[0]!, tenants[2]!];
    const raw = pooled.prisma.$tenant(attacker.id);
    for (let i = 0; i < 8; i++) {
      await raw.$executeRawUnsafe(`PREPARE attack_p${i} AS SELECT 1`);
      await raw.$executeRawUnsafe("SELECT pg_catalog.set_config('attack.mark', 'left behind', false)");
      await raw.$executeRawUnsafe(`SELECT pg_catalog.pg_advisory_lock(${4500 + i})`);
      await raw.$executeRawUnsafe("LISTEN attack_channel");
      await failure(raw.$executeRawUnsafe(`SELECT pg_catalog.pg_advisory_lock(${4600 + i}), 1 / 0`));
    }
    const seen = await Promise.all(
      Array.from({ length: 24 }, () =>
        pooled.prisma.$tenant(victim.id).$queryRawUnsafe<Array<{ leftovers: number; mark: string }>>(
          `SELECT ((SELECT count(*) FROM pg_catalog.pg_prepared_statements WHERE name ~ 'attack') +
                   (SELECT count(*) FROM pg_catalog.pg_listening_channels() c WHERE c ~ 'attack') +
                   (SELECT count(*) FROM pg_catalog.pg_locks l WHERE l.locktype = 'advisory' AND l.pid = pg_catalog.pg_backend_pid()))::int AS leftovers,
                  coalesce(pg_catalog.current_setting('attack.mark', true), '') AS mark`,
        ),
      ),
    );
    expect(seen.flat().filter((r) => r.leftovers !== 0 || r.mark !== "")).toEqual([]);
    // And no server session anywhere still holds the attacker's advisory locks.
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid BETWEEN 4500 AND 4700");
    expect(rows[0].n).toBe(0);
  });

  it("a raw BEGIN cannot hold a server session open across clients", async () => {
    const [attacker, victim] = [tenants[0]!, tenants[2]!];
    await pooled.prisma.$tenant(attacker.id).$executeRawUnsafe("BEGIN");
    const v = pooled.prisma.$tenant(victim.id);
    await v.user.create({ data: { tenant_id: victim.id, email: "survivor@pool.test" } });
    await failure(pooled.prisma.$tenant(attacker.id).$executeRawUnsafe("ROLLBACK"));
    expect(await v.user.count({ where: { email: "survivor@pool.test" } })).toBe(1);
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'", [db.name]);
    expect(rows[0].n).toBe(0);
  });

  it("raw writes commit, failed raw statements change nothing", async () => {
    const t = tenants[0]!;
    const raw = pooled.prisma.$tenant(t.id);
    expect(await raw.$executeRawUnsafe("UPDATE users SET name = 'renamed' WHERE email LIKE 'p0-%'")).toBe(ROWS);
    await failure(raw.$executeRawUnsafe("UPDATE users SET name = 'never' WHERE 1 / 0 = 1"));
    const names = (await raw.user.findMany({ where: { email: { startsWith: "p0-" } } })).map((u) => u.name);
    expect(names).toEqual(Array(ROWS).fill("renamed"));
  });
});
