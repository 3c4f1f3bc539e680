/**
 * Scratch databases and clients for bench:volume. Everything is created as the superuser or the
 * owner and dropped by the caller's clean-ups, also on failure.
 */
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter, type StratumAdapterOptions } from "../../src/index.js";
import { INSTALL_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { applyMigrations, pgExecutor } from "../../src/migrate/runner.js";
import { withDatabase } from "../../test/harness/postgres.js";
import { appUrlOf, OWNER_ROLE, ownerUrlOf } from "../../test/harness/roles.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
export const ADMIN_URL = withDatabase(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres", "postgres");
export const POOL_MAX = 16;
export const log = (line: string) => console.error(`[bench] ${line}`);
export type Cleanups = Array<() => Promise<unknown>>;

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
export const p50 = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
export const p99 = (xs: number[]) => sorted(xs)[Math.floor(xs.length * 0.99)]!;

/** Times `n` sequential calls. */
export async function timeCalls(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  return xs;
}

export interface Db {
  name: string;
  superUrl: string;
  ownerUrl: string;
  appUrl: string;
}

/** A migrated scratch database with the scope key installed. */
export async function scratchDb(label: string, scopeKey: string, cleanups: Cleanups): Promise<Db> {
  const name = `bench_vol_${label}_${randomBytes(4).toString("hex")}`;
  await withClient(ADMIN_URL, (c) => c.query(`CREATE DATABASE ${name} OWNER ${OWNER_ROLE}`));
  cleanups.push(() => withClient(ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  const db = {
    name,
    superUrl: withDatabase(ADMIN_URL, name),
    ownerUrl: withDatabase(ownerUrlOf(ADMIN_URL), name),
    appUrl: withDatabase(appUrlOf(ADMIN_URL), name),
  };
  await withClient(db.ownerUrl, async (c) => {
    await applyMigrations(pgExecutor(c), { migrationsDir: join(ROOT, "prisma", "migrations") });
    await c.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
  });
  return db;
}

/** The stratum client (app role) and a plain PrismaPg client as the superuser, same database. */
export function clients(db: Db, scopeKey: string, adapterOptions: Pick<StratumAdapterOptions, "subtreeConnections"> = {}) {
  const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl, pool: { max: POOL_MAX }, ...adapterOptions }) });
  const prisma = base.$extends(stratum({ models: stratumModels, scopeKey, admin: { connectionString: db.ownerUrl } }));
  const plainPool = new pg.Pool({ connectionString: db.superUrl, max: POOL_MAX });
  // The scratch database is dropped WITH (FORCE) at the end: its idle connections are terminated.
  plainPool.on("error", () => undefined);
  const plain = new PrismaClient({ adapter: new PrismaPg(plainPool) });
  return { prisma, plain, close: () => Promise.all([base.$disconnect(), plain.$disconnect()]) };
}
export type Clients = ReturnType<typeof clients>;

/** `n` concurrent calls: wall time, failures, the first failure's last line. */
export async function concurrent(n: number, fn: () => Promise<unknown>): Promise<{ ms: number; failed: number; first: string }> {
  const t = performance.now();
  const results = await Promise.allSettled(Array.from({ length: n }, fn));
  const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
  return {
    ms: performance.now() - t,
    failed: failed.length,
    first: failed[0]
      ? String((failed[0].reason as Error).message)
          .split("\n")
          .pop()!
      : "",
  };
}

/**
 * Fails unless VACUUM marked every page of `table` all-visible, as autovacuum keeps a table at
 * rest: a bench that measured index-only reads against an empty visibility map would time heap
 * fetches no user pays.
 */
export async function assertAllVisible(c: pg.Client, table: string): Promise<void> {
  const { rows } = await c.query<{ pages: number; visible: number }>(
    "SELECT relpages AS pages, relallvisible AS visible FROM pg_class WHERE oid = $1::regclass",
    [table],
  );
  const r = rows[0]!;
  if (r.visible < r.pages) throw new Error(`${table}: ${r.visible} of ${r.pages} pages all-visible after VACUUM; something holds back the xmin horizon`);
}
