/**
 * Read replicas on a real hot standby (test/harness/replica.ts: pg_basebackup -R of a private
 * second PostgreSQL). `$tenant(id, { replica: true })` reads there under the same policies and
 * signed tokens as on the primary; writes go to the primary; a write that reaches the standby
 * fails closed and typed. Replay is paused where a test must tell the two servers apart.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/prisma/client.js";
import { stratumModels } from "../generated/stratum/index.js";
import { isStratumError, stratum, stratumAdapter, type Tenant } from "../src/index.js";
import { PRELUDE_SQL } from "../src/isolation/pg-pipeline.js";
import { signScope } from "../src/isolation/scope.js";
import { requireInjected } from "./harness/context.js";
import { withDatabase } from "./harness/postgres.js";
import { replicaDatabase, startReplica, type Replica } from "./harness/replica.js";
import { appUrlOf } from "./harness/roles.js";

let replica: Replica;
let urls: { primaryApp: string; standbyApp: string; standbyAdmin: string; primaryAdmin: string };
let client: ReturnType<typeof makeClient>;
let a: Tenant;
let b: Tenant;
let s: Tenant;
let d: Tenant;
const scopeKey = () => requireInjected("scopeKey");

/** DATABASE tenants live on the replica's primary too, as server "rr", read at its standby. */
function makeClient() {
  const adapter = stratumAdapter({
    connectionString: urls.primaryApp,
    pool: { max: 4 },
    servers: { rr: withDatabase(appUrlOf(replica.primary.adminUrl), "postgres") },
    replicas: { main: urls.standbyApp, servers: { rr: withDatabase(appUrlOf(replica.adminUrl), "postgres") } },
  });
  const base = new PrismaClient({ adapter });
  const admin = { connectionString: replicaOwnerUrl, servers: { rr: replica.primary.adminUrl } };
  const prisma = base.$extends(stratum({ models: stratumModels, scopeKey: scopeKey(), admin }));
  return { prisma, close: () => base.$disconnect() };
}
let replicaOwnerUrl: string;

beforeAll(async () => {
  replica = await startReplica("rr");
  const db = await replicaDatabase(replica, scopeKey());
  replicaOwnerUrl = db.ownerUrl;
  urls = {
    primaryApp: db.appUrl,
    primaryAdmin: db.adminUrl,
    standbyApp: withDatabase(appUrlOf(replica.adminUrl), db.name),
    standbyAdmin: withDatabase(replica.adminUrl, db.name),
  };
  client = makeClient();
  const p = client.prisma;
  a = await p.$stratum.createTenant({ name: "Replica A" });
  b = await p.$stratum.createTenant({ name: "Replica B" });
  s = await p.$stratum.createTenant({ name: "Replica S", isolation_strategy: "SCHEMA" });
  d = await p.$stratum.createTenant({ name: "Replica D", isolation_strategy: "DATABASE", server: "rr" });
  for (const t of [a, b, s, d]) {
    await p.$tenant(t.id).user.createMany({ data: [0, 1, 2].map((i) => ({ tenant_id: t.id, email: `u${i}@${t.slug}.test` })) });
  }
  await replica.caughtUp();
}, 180_000);

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await replica?.resumeReplay().catch(() => undefined);
  await replica?.stop();
});

/** Runs `sql` on the standby as the app role, in one transaction, returning the last result's rows. */
async function onStandby(statements: Array<[string, unknown[]]>): Promise<unknown[]> {
  const c = new pg.Client({ connectionString: urls.standbyApp });
  await c.connect();
  try {
    await c.query("BEGIN");
    let rows: unknown[] = [];
    for (const [sql, params] of statements) rows = (await c.query(sql, params)).rows;
    await c.query("COMMIT");
    return rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const prelude = (token: string, readOnly: "on" | "off"): [string, unknown[]] => [PRELUDE_SQL, [token, "pg_catalog, public, pg_temp", readOnly, "", "", ""]];

describe("the standby itself", () => {
  it("is a hot standby of the primary, and refuses the primary's read-write prelude", async () => {
    const [{ standby }] = (await onStandby([["SELECT pg_is_in_recovery() AS standby", []]])) as [{ standby: boolean }];
    expect(standby).toBe(true);
    // Why a replica scope is always read-only: the prelude a primary statement sends
    // (transaction_read_only = off) is an error on a standby.
    await expect(onStandby([prelude(signScope(scopeKey(), a.id, "s"), "off")])).rejects.toThrow(/read-write mode/);
    const rows = await onStandby([prelude(signScope(scopeKey(), a.id, "s"), "on"), ["SELECT count(*)::int AS n FROM public.users", []]]);
    expect(rows).toEqual([{ n: 3 }]);
  });

  it("enforces the policies from its own copy of the scope tokens: none or a forged token, no rows", async () => {
    expect(await onStandby([["SELECT count(*)::int AS n FROM public.users", []]])).toEqual([{ n: 0 }]);
    const forged = `${a.id}.s.${"0".repeat(64)}`;
    expect(await onStandby([prelude(forged, "on"), ["SELECT count(*)::int AS n FROM public.users", []]])).toEqual([{ n: 0 }]);
  });

  it("takes transaction-scoped advisory locks (they write no WAL) but refuses writes", async () => {
    const rows = await onStandby([["SELECT pg_try_advisory_xact_lock(42) AS got", []]]);
    expect(rows).toEqual([{ got: true }]);
    await expect(
      onStandby([
        prelude(signScope(scopeKey(), a.id, "s"), "on"),
        ["INSERT INTO public.users (id, tenant_id, email) VALUES (gen_random_uuid(), $1, 'x@x.test')", [a.id]],
      ]),
    ).rejects.toThrow(/read-only transaction/);
  });
});

describe("$tenant(id, { replica: true })", () => {
  it("reads on the standby: a row written while replay is paused is on the primary only", async () => {
    const r = client.prisma.$tenant(a.id, { replica: true });
    expect(await r.$queryRaw`SELECT pg_is_in_recovery() AS standby`).toEqual([{ standby: true }]);
    await replica.pauseReplay();
    try {
      await client.prisma.$tenant(a.id).user.create({ data: { tenant_id: a.id, email: "lagging@a.test" } });
      expect(await client.prisma.$tenant(a.id).user.count()).toBe(4);
      expect(await r.user.count()).toBe(3);
    } finally {
      await replica.resumeReplay();
    }
    await replica.caughtUp();
    expect(await r.user.count()).toBe(4);
    await client.prisma.$tenant(a.id).user.deleteMany({ where: { email: "lagging@a.test" } });
    await replica.caughtUp();
  });

  it.each([
    ["SHARED_RLS", () => [a, b] as const],
    ["SCHEMA", () => [s, a] as const],
    ["DATABASE", () => [d, a] as const],
  ])("%s: a read on the standby sees only the tenant's rows", async (_strategy, pick) => {
    const [tenant, other] = pick();
    expect(await client.prisma.$tenant(tenant.id, { replica: true }).$queryRaw`SELECT pg_is_in_recovery() AS standby`).toEqual([{ standby: true }]);
    const rows = await client.prisma.$tenant(tenant.id, { replica: true }).user.findMany();
    expect(rows.map((u) => u.email).sort()).toEqual([0, 1, 2].map((i) => `u${i}@${tenant.slug}.test`));
    expect(rows.every((u) => u.tenant_id === tenant.id)).toBe(true);
    const foreign = await client.prisma.$tenant(tenant.id, { replica: true }).user.findMany({ where: { tenant_id: other.id } });
    expect(foreign).toEqual([]);
    const raw = await client.prisma.$tenant(tenant.id, { replica: true }).$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM users`;
    expect(raw).toEqual([{ n: 3 }]);
  });

  it("a raw write on the replica path fails closed with REPLICA_WRITE_REFUSED and writes nothing", async () => {
    const r = client.prisma.$tenant(a.id, { replica: true });
    const error = await r.$queryRaw`INSERT INTO users (id, tenant_id, email) VALUES (gen_random_uuid(), ${a.id}::uuid, 'raw@a.test') RETURNING id`.catch(
      (e: unknown) => e,
    );
    expect(isStratumError(error) && error.code).toBe("REPLICA_WRITE_REFUSED");
    expect(await client.prisma.$tenant(a.id).user.count({ where: { email: "raw@a.test" } })).toBe(0);
  });

  it("{ replica: { after } } reads its own write: on the primary until the standby has replayed it, then on the standby", async () => {
    const primary = client.prisma.$tenant(a.id);
    await replica.pauseReplay();
    let after: { after: string };
    try {
      await primary.user.create({ data: { tenant_id: a.id, email: "own@a.test" } });
      const [position] = await primary.$queryRaw<Array<{ lsn: string }>>`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
      after = { after: String(position?.lsn) };
      // Without the position, the standby answers, and misses the write.
      expect(await client.prisma.$tenant(a.id, { replica: true }).user.count({ where: { email: "own@a.test" } })).toBe(0);
      const fresh = client.prisma.$tenant(a.id, { replica: after });
      expect(await fresh.user.count({ where: { email: "own@a.test" } })).toBe(1);
      expect(await fresh.$queryRaw`SELECT pg_is_in_recovery() AS standby`).toEqual([{ standby: false }]);
    } finally {
      await replica.resumeReplay();
    }
    await replica.caughtUp();
    const fresh = client.prisma.$tenant(a.id, { replica: after });
    expect(await fresh.$queryRaw`SELECT pg_is_in_recovery() AS standby`).toEqual([{ standby: true }]);
    expect(await fresh.user.count({ where: { email: "own@a.test" } })).toBe(1);
    expect(() => client.prisma.$tenant(a.id, { replica: { after: "now" } })).toThrow(/needs a WAL position/);
    await primary.user.deleteMany({ where: { email: "own@a.test" } });
    await replica.caughtUp();
  });

  it("model writes, $executeRaw and $transaction go to the primary", async () => {
    const r = client.prisma.$tenant(a.id, { replica: true });
    await replica.pauseReplay();
    try {
      const created = await r.user.create({ data: { tenant_id: a.id, email: "write@a.test" } });
      expect(created.tenant_id).toBe(a.id);
      const updated = await r.$executeRaw`UPDATE users SET name = 'via executeRaw' WHERE email = 'write@a.test'`;
      expect(updated).toBe(1);
      const inTx = await r.$transaction(async (tx) => tx.user.findFirst({ where: { email: "write@a.test" } }));
      expect(inTx?.name).toBe("via executeRaw");
      // Not replayed yet: the standby has not seen the write.
      expect(await r.user.count({ where: { email: "write@a.test" } })).toBe(0);
    } finally {
      await replica.resumeReplay();
    }
    await replica.caughtUp();
    expect(await r.user.count({ where: { email: "write@a.test" } })).toBe(1);
    await client.prisma.$tenant(a.id).user.deleteMany({ where: { email: "write@a.test" } });
  });
});
