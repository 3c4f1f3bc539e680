/**
 * Readers and writers hammering a tenant while it moves (test/faults/moves.test.ts and its heavier
 * variant in test/stress). Two clients stand for two processes: the one moving the tenant, and
 * another whose cached route goes stale at the flip (no change bus). Every read must see at least
 * every row acknowledged before it started (from the old home or the new, never neither);
 * afterwards the superuser counts the tenant's rows in every home: the seed plus the acknowledged
 * writes, exactly.
 */
import pg from "pg";
import { expect } from "vitest";
import { isStratumError, type Tenant } from "../../src/index.js";
import type { TestDatabase } from "../harness/database.js";
import type { stratumTestClient } from "./stratum-client.js";

export type Strategy = "SHARED_RLS" | "SCHEMA" | "DATABASE";
export type Client = ReturnType<typeof stratumTestClient>;

const SEED = 12;
/** Each loop stops when the move is done, or after this many rounds whatever happens. */
const MAX_ROUNDS = 4_000;

export const STRATEGY_PAIRS: Array<[Strategy, Strategy]> = [
  ["SHARED_RLS", "SCHEMA"],
  ["SHARED_RLS", "DATABASE"],
  ["SCHEMA", "SHARED_RLS"],
  ["SCHEMA", "DATABASE"],
  ["DATABASE", "SHARED_RLS"],
  ["DATABASE", "SCHEMA"],
];

/** Rows of the tenant in every home the superuser can find: shared tables, its schema, its database. */
async function countEverywhere(db: TestDatabase, admin: pg.Pool, tenant: Tenant): Promise<number> {
  let n = (await admin.query("SELECT count(*)::int AS n FROM public.users WHERE tenant_id = $1", [tenant.id])).rows[0].n as number;
  const { rows } = await admin.query("SELECT isolation_strategy, placement FROM stratum_tenants WHERE id = $1", [tenant.id]);
  const { isolation_strategy: strategy, placement } = rows[0] as { isolation_strategy: Strategy; placement: string | null };
  if (strategy === "SCHEMA") {
    n += (await admin.query(`SELECT count(*)::int AS n FROM "${placement}".users WHERE tenant_id = $1`, [tenant.id])).rows[0].n as number;
  } else if (strategy === "DATABASE") {
    const url = new URL(db.adminUrl);
    url.pathname = `/${placement!.split("/")[1]}`;
    const home = new pg.Client({ connectionString: url.toString() });
    await home.connect();
    try {
      n += (await home.query("SELECT count(*)::int AS n FROM public.users WHERE tenant_id = $1", [tenant.id])).rows[0].n as number;
    } finally {
      await home.end();
    }
  }
  return n;
}

interface Load {
  acked: number;
  reads: number;
  problems: string[];
}

/** Reads until `done`: every count must include what was acknowledged before it started. */
async function reader(client: Client, tenant: Tenant, load: Load, done: () => boolean): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS && !done(); round++) {
    const floor = SEED + load.acked;
    try {
      const seen =
        round % 2 === 0
          ? await client.prisma.$tenant(tenant.id).user.count()
          : (await client.prisma.$tenant(tenant.id).user.findMany({ select: { id: true } })).length;
      load.reads++;
      if (seen < floor) load.problems.push(`read ${seen} rows, ${floor} were committed before it started`);
    } catch (error) {
      load.problems.push(`read failed: ${String(error)}`);
    }
  }
}

/** Writes until `done`; a write refused while the move freezes writes is simply tried again. */
async function writer(client: Client, tenant: Tenant, load: Load, tag: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < MAX_ROUNDS && !done(); i++) {
    try {
      await client.prisma.$tenant(tenant.id).user.create({ data: { tenant_id: tenant.id, email: `${tag}${i}@load.test`, name: tag } });
      load.acked++;
    } catch (error) {
      if (!isStratumError(error, "ISOLATION_MOVE_IN_PROGRESS")) load.problems.push(`write failed: ${String(error)}`);
    }
  }
}

/** Moves a fresh tenant from `from` to `to` under load; `mover` moves it, `other` holds a stale route. */
export async function moveUnderLoad(db: TestDatabase, admin: pg.Pool, mover: Client, other: Client, from: Strategy, to: Strategy): Promise<void> {
  const poolSize = mover.adapter.options.pool?.max ?? 10;
  const tenant = await mover.prisma.$stratum.createTenant({
    name: `Load ${from} ${to} ${poolSize}`,
    isolation_strategy: from,
    ...(from === "DATABASE" ? { server: "main" } : {}),
  });
  await mover.prisma
    .$tenant(tenant.id)
    .user.createMany({ data: Array.from({ length: SEED }, (_, i) => ({ tenant_id: tenant.id, email: `seed${i}@load.test`, name: "seed" })) });
  // Both clients hold the route to the old home before the move starts.
  expect(await other.prisma.$tenant(tenant.id).user.count()).toBe(SEED);
  expect(await mover.prisma.$tenant(tenant.id).user.count()).toBe(SEED);

  const load: Load = { acked: 0, reads: 0, problems: [] };
  let finished = false;
  const done = () => finished;
  const move = mover.prisma.$stratum.setIsolation(tenant.id, to, to === "DATABASE" ? { server: "main" } : {}).finally(() => (finished = true));
  await Promise.all([
    move,
    reader(mover, tenant, load, done),
    reader(other, tenant, load, done),
    reader(other, tenant, load, done),
    writer(mover, tenant, load, "m", done),
    writer(other, tenant, load, "o", done),
  ]);
  // A few more rounds after the move, on the client whose route may still be the old one.
  let rounds = 0;
  const fiveRounds = () => ++rounds > 5;
  await writer(other, tenant, load, "p", fiveRounds);
  rounds = 0;
  await reader(other, tenant, load, fiveRounds);

  expect(load.problems).toEqual([]);
  expect((await move).row_counts.users).toBeGreaterThanOrEqual(SEED);
  expect(await countEverywhere(db, admin, tenant)).toBe(SEED + load.acked);
  expect(await other.prisma.$tenant(tenant.id).user.count()).toBe(SEED + load.acked);
  await mover.prisma.$stratum.deleteTenant(tenant.id);
}
