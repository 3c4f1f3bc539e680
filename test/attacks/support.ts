/**
 * Shared ground for the attack suite: a test database, two stratum clients on it (a pool of N and
 * a pool of 1, so "the next borrower" is always the same connection), seeded tenants of every
 * strategy, and the checks every attack ends with: no foreign row, no foreign value in errors, a
 * clean connection.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { expect } from "vitest";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { isStratumError, stratum, stratumAdapter, type IsolationStrategyName, type Tenant } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { startPgBouncer } from "../harness/pgbouncer.js";
import { withDatabase } from "../harness/postgres.js";
import { appUrlOf } from "../harness/roles.js";
import { startSecondPostgres } from "../harness/second-postgres.js";

export interface ServerUrls {
  appUrl: string;
  adminUrl: string;
}

export interface AttackClientOptions {
  /** The app's URL for the main database (default: the test database's, straight to PostgreSQL). */
  appUrl?: string;
  poolSize?: number;
  maxPools?: number;
  tenantPoolSize?: number;
  servers?: Record<string, ServerUrls>;
}

export function attackClient(db: TestDatabase, options: AttackClientOptions = {}) {
  const servers: Record<string, ServerUrls> = { main: { appUrl: db.appUrl, adminUrl: db.adminUrl }, ...options.servers };
  const adapter = stratumAdapter({
    connectionString: options.appUrl ?? db.appUrl,
    pool: { max: options.poolSize ?? 10 },
    servers: Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.appUrl])),
    maxPools: options.maxPools ?? 4,
    poolSize: options.tenantPoolSize ?? options.poolSize ?? 5,
  });
  // A loaded 2-core CI machine can take more than Prisma's default 2 s to hand a pooled connection to a transaction.
  const base = new PrismaClient({ adapter, transactionOptions: { maxWait: 20_000, timeout: 20_000 } });
  const prisma = base.$extends(
    stratum({
      models: stratumModels,
      scopeKey: db.scopeKey,
      admin: { connectionString: db.ownerUrl, servers: Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.adminUrl])) },
    }),
  );
  // `base` is the unextended client on the same driver: statements through it are not marked raw,
  // which is how a defence test shows an attack working where the session reset is absent.
  return { prisma, base, adapter, close: () => base.$disconnect() };
}

export type AttackClient = ReturnType<typeof attackClient>;
export type Prisma = AttackClient["prisma"];

/** The second PostgreSQL as a named server for DATABASE tenants. */
export async function secondServer(): Promise<ServerUrls> {
  const second = await startSecondPostgres();
  return { adminUrl: second.adminUrl, appUrl: withDatabase(appUrlOf(second.adminUrl), "postgres") };
}

/** Short random suffix: DATABASE tenants' databases live on a server shared by the whole run. */
export const uniq = (): string => randomBytes(4).toString("hex");

export interface Seeded {
  tenant: Tenant;
  strategy: IsolationStrategyName;
  /** Rows as created: ids, emails, names and titles that belong to this tenant alone. */
  users: Array<{ id: string; email: string; name: string }>;
  tickets: Array<{ id: string; title: string; author_id: string }>;
  /** Values that must never appear in another tenant's results or errors. */
  secrets: string[];
}

/** Two users (one with an email every tenant shares) and two tickets per tenant. */
export async function seed(prisma: Prisma, tenant: Tenant, strategy: IsolationStrategyName): Promise<Seeded> {
  const mark = `secret_${uniq()}`;
  const t = prisma.$tenant(tenant.id);
  const owner = await t.user.create({ data: { tenant_id: tenant.id, email: `owner-${mark}@x.test`, name: `${mark}_owner` } });
  const shared = await t.user.create({ data: { tenant_id: tenant.id, email: "shared@same.test", name: `${mark}_shared` } });
  const tickets = [];
  for (const [i, author] of [owner, shared].entries()) {
    tickets.push(await t.ticket.create({ data: { tenant_id: tenant.id, title: `${mark}_ticket_${i}`, author_id: author.id } }));
  }
  const users = [owner, shared].map((u) => ({ id: u.id, email: u.email, name: u.name ?? "" }));
  const ticketRows = tickets.map((x) => ({ id: x.id, title: x.title, author_id: x.author_id }));
  return {
    tenant,
    strategy,
    users,
    tickets: ticketRows,
    secrets: [mark, owner.email, ...users.map((u) => u.id), ...ticketRows.map((x) => x.id)],
  };
}

export interface World {
  db: TestDatabase;
  /** Pool of 10 on the main database. */
  client: AttackClient;
  /** Pool of 1: the next borrower is always the connection the attack used. */
  solo: AttackClient;
  /** Superuser on the main database: the ground truth. */
  admin: pg.Pool;
  rls: [Seeded, Seeded];
  schema: [Seeded, Seeded];
  /** Present when `withDatabase` was asked for. */
  database?: [Seeded, Seeded];
  all: Seeded[];
  close(): Promise<void>;
}

/**
 * STRATUM_TEST_POOLER=1 (`npm run test:stress` runs the attack suite so): the app's connections to
 * the main database go through a PgBouncer in transaction mode, in stratum's pooler mode.
 */
const THROUGH_POOLER = process.env.STRATUM_TEST_POOLER === "1";

export async function createWorld(label: string, options: { withDatabase?: boolean } = {}): Promise<World> {
  const db = await createTestDatabase({ label });
  const servers = options.withDatabase ? { second: await secondServer() } : undefined;
  const target = new URL(db.adminUrl);
  const bouncer = THROUGH_POOLER ? await startPgBouncer({ host: target.hostname, port: Number(target.port || 5432) }) : undefined;
  const appUrl = bouncer ? `${bouncer.through(db.appUrl)}${db.appUrl.includes("?") ? "&" : "?"}pgbouncer=true` : db.appUrl;
  const client = attackClient(db, { appUrl, poolSize: 10, ...(servers ? { servers } : {}) });
  const solo = attackClient(db, { appUrl, poolSize: 1, tenantPoolSize: 1, ...(servers ? { servers } : {}) });
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const p = client.prisma;
  const root = await p.$stratum.createTenant({ name: `Root ${uniq()}` });
  const make = (strategy: IsolationStrategyName) =>
    p.$stratum.createTenant({
      name: `${strategy.toLowerCase()} ${uniq()}`,
      parent_id: root.id,
      isolation_strategy: strategy,
      ...(strategy === "DATABASE" ? { server: "second" } : {}),
    });
  const pair = async (strategy: IsolationStrategyName): Promise<[Seeded, Seeded]> => [
    await seed(p, await make(strategy), strategy),
    await seed(p, await make(strategy), strategy),
  ];
  const rls = await pair("SHARED_RLS");
  const schema = await pair("SCHEMA");
  const database = options.withDatabase ? await pair("DATABASE") : undefined;
  const all = [...rls, ...schema, ...(database ?? [])];
  return {
    db,
    client,
    solo,
    admin,
    rls,
    schema,
    ...(database ? { database } : {}),
    all,
    async close() {
      // Tenant databases on the second server go with their tenants.
      for (const s of database ?? []) await p.$stratum.deleteTenant(s.tenant.id, { cascade: true }).catch(() => undefined);
      await client.close().catch(() => undefined);
      await solo.close().catch(() => undefined);
      await admin.end().catch(() => undefined);
      await bouncer?.stop();
      await db.drop();
    },
  };
}

/** Attack targets: each strategy's first tenant against every other seeded tenant. */
export function targets(world: World): Array<[IsolationStrategyName, Seeded, Seeded[]]> {
  const list: Array<[IsolationStrategyName, Seeded[]]> = [
    ["SHARED_RLS", world.rls],
    ["SCHEMA", world.schema],
    ...(world.database ? ([["DATABASE", world.database]] as Array<[IsolationStrategyName, Seeded[]]>) : []),
  ];
  return list.map(([name, pair]) => [name, pair[0]!, world.all.filter((s) => s !== pair[0])]);
}

/** Every value of `others` that shows up in `value` (rows, errors, anything JSON can carry). */
export function leaks(value: unknown, others: readonly Seeded[]): string[] {
  const text = render(value);
  return others.flatMap((o) => o.secrets.filter((s) => text.includes(s)));
}

export function render(value: unknown): string {
  if (value instanceof Error) {
    const e = value as Error & { meta?: unknown; cause?: unknown; code?: unknown };
    return [e.message, String(e.code ?? ""), safeJson(e.meta), e.cause ? render(e.cause) : "", e.stack ?? ""].join("\n");
  }
  return safeJson(value);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

export function expectNoLeak(value: unknown, others: readonly Seeded[]): void {
  expect(leaks(value, others), `foreign values in ${render(value).slice(0, 400)}`).toEqual([]);
}

/** Rows (or nested rows) carrying a tenant_id other than `self`. */
export function foreignTenantIds(value: unknown, self: string): string[] {
  const found: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object" && !(v instanceof Date)) {
      for (const [k, x] of Object.entries(v)) {
        if (k === "tenant_id" && typeof x === "string" && x !== self) found.push(x);
        else walk(x);
      }
    }
  };
  walk(value);
  return found;
}

export function expectOnlyTenant(value: unknown, self: Seeded, others: readonly Seeded[]): void {
  expect(foreignTenantIds(value, self.tenant.id)).toEqual([]);
  expectNoLeak(value, others);
}

/** Settles a promise into its error (or undefined when it resolved). */
export async function failure(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error ?? new Error("rejected with nothing");
  }
}

export function codeOf(error: unknown): string | undefined {
  if (isStratumError(error)) return error.code;
  const e = error as { code?: unknown } | undefined;
  return typeof e?.code === "string" ? e.code : undefined;
}

/** Fails unless `promise` rejects; returns the error after checking it names no foreign value. */
export async function rejectsClean(promise: PromiseLike<unknown>, others: readonly Seeded[]): Promise<unknown> {
  const error = await failure(promise);
  expect(error, "expected a rejection").toBeDefined();
  expectNoLeak(error, others);
  return error;
}

export interface ConnectionState {
  tenant: string;
  search_path: string;
  read_only: string;
  role: string;
  visible: number;
}

const STATE_SQL = `SELECT coalesce(current_setting('stratum.tenant_id', true), '') AS tenant,
                          current_setting('search_path') AS search_path,
                          current_setting('transaction_read_only') AS read_only,
                          current_user::text AS role,
                          ((SELECT count(*) FROM public.users) + (SELECT count(*) FROM public.tickets))::int AS visible`;

/** What the next unscoped borrower of the main pool sees. */
export async function connectionState(client: AttackClient): Promise<ConnectionState> {
  const rows = await client.prisma.$queryRawUnsafe<ConnectionState[]>(STATE_SQL);
  return rows[0]!;
}

export const DEFAULT_SEARCH_PATH = '"$user", public';

/** The pool-of-1 connection carries no tenant, no altered search_path, role or read-only flag. */
export async function expectClean(client: AttackClient): Promise<void> {
  // Twice: once on whatever connection comes next, once more after that statement's own Sync.
  for (let i = 0; i < 2; i++) {
    expect(await connectionState(client)).toEqual({ tenant: "", search_path: DEFAULT_SEARCH_PATH, read_only: "off", role: "stratum_app", visible: 0 });
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
