/**
 * `$stratum`'s services run on the stratum driver's pool (src/extension/driver-db.ts), not on
 * Prisma's interactive transactions: same admin scope, one connection per transaction, BEGIN with
 * the first statement, nothing written when the transaction fails, typed faults.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PrismaClient } from "../generated/prisma/client.js";
import { stratumModels } from "../generated/stratum/index.js";
import { isStratumError, stratum, stratumAdapter } from "../src/index.js";
import { createAuditService } from "../src/audit/index.js";
import { createPgChangeBus } from "../src/config/bus.js";
import { commitWith, pgDb, type Db } from "../src/core/db.js";
import { subtreeSql } from "../src/core/subtree.js";
import type { ChangeEvent } from "../src/core/ports.js";
import { driverDb } from "../src/extension/driver-db.js";
import { SHARED_SEARCH_PATH } from "../src/isolation/names.js";
import type { StratumPool } from "../src/isolation/pg-pipeline.js";
import { ADMIN_TENANT_ID, signScope, type TenantScope } from "../src/isolation/scope.js";
import { REVOKE_BELOW_SQL } from "../src/permissions/service.js";
import { CHAIN_ASSIGNMENTS_SQL } from "../src/roles/assignments.js";
import { PLAN as MOVE_PLAN, REWRITE as MOVE_REWRITE } from "../src/tenants/move.js";
import { ANCESTORS_PAGE_SQL, ANCESTORS_SQL, DESCENDANTS_PAGE_SQL, DESCENDANTS_SQL, ROOT_SQL } from "../src/tenants/tree-reads.js";
import { createWebhookService, withWebhookEvents } from "../src/webhooks/index.js";
import { EMIT_SQL } from "../src/webhooks/outbox.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { redisUrl } from "./harness/redis.js";

let db: TestDatabase;
let admin: pg.Pool;
let base: PrismaClient;
let adapter: ReturnType<typeof stratumAdapter>;
let prisma: ReturnType<typeof extend>;
let transactions: ReturnType<typeof vi.spyOn>;

function extend(client: PrismaClient) {
  return client.$extends(stratum({ models: stratumModels, scopeKey: db.scopeKey, admin: { connectionString: db.ownerUrl } }));
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "driverdb" });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  adapter = stratumAdapter({ connectionString: db.appUrl, pool: { max: 4 } });
  base = new PrismaClient({ adapter });
  // Every interactive transaction Prisma would open for a service goes through here.
  transactions = vi.spyOn(base, "$transaction");
  prisma = extend(base);
});

afterAll(async () => {
  await base?.$disconnect();
  await admin?.end();
  await db?.drop();
});

/** A Db on an adapter's main pool (the suite's by default) under the admin scope, as the extension builds it. */
function adminDb(on: ReturnType<typeof stratumAdapter> = adapter): Db {
  const scope: TenantScope = {
    tenantId: ADMIN_TENANT_ID,
    mode: "a",
    strategy: "SHARED_RLS",
    token: signScope(db.scopeKey, ADMIN_TENANT_ID, "a"),
    searchPath: SHARED_SEARCH_PATH,
    readOnly: false,
  };
  return driverDb(() => on.mainPool() as StratumPool, scope);
}

/** `tx`, counting the statements sent on their own (query, execute) and those deferred into `sent`. */
function countingDb(tx: Db, sent: { sent: number; deferred: number }): Db {
  return {
    ...tx,
    query: (...a) => (sent.sent++, tx.query(...a)),
    execute: (...a) => (sent.sent++, tx.execute(...a)),
    defer: (...a) => (sent.deferred++, tx.defer?.(...a)),
  };
}

/**
 * A new tenant with a webhook on `config.*` (its outbox only: nothing is delivered), and an audit
 * sink that queues the webhook events of what it records, for `fn`.
 */
async function withConfigWebhook(name: string, fn: (tenant: { id: string }, audit: ReturnType<typeof createAuditService>) => Promise<void>) {
  const tenant = await prisma.$stratum.createTenant({ name });
  const webhooks = createWebhookService(adminDb(), {
    audit: createAuditService(adminDb()),
    redis: redisUrl(),
    queueName: `driver-hooks-${tenant.id.slice(0, 8)}`,
    allowPrivateNetworks: true,
    onError: () => undefined,
  });
  try {
    await webhooks.register(tenant.id, { url: "http://127.0.0.1:9/hook", events: ["config.*"] });
    await fn(tenant, withWebhookEvents(createAuditService(adminDb()), webhooks));
  } finally {
    await webhooks.close();
  }
}

/** The `data.after` of every delivery queued for `tenantId`'s webhooks. */
async function deliveredAfters(tenantId: string): Promise<Array<{ after: unknown }>> {
  const { rows } = await admin.query<{ after: unknown }>(
    `SELECT d.payload->'data'->'after' AS after FROM public.stratum_deliveries d JOIN public.stratum_webhooks w ON w.id = d.webhook_id WHERE w.tenant_id = $1`,
    [tenantId],
  );
  return rows;
}

/**
 * Tables read whole by `sql`, run as the services run it (app role, admin scope, the table's row
 * security) with sequential scans priced out, then rolled back: a scan that ran, or an index read
 * without a condition, means no index could serve it (a fallback that never runs does not count).
 */
async function scanned(sql: string, params: unknown[]): Promise<string[]> {
  const seq: string[] = [];
  const rolledBack = new Error("roll back");
  await adminDb()
    .transaction(async (tx) => {
      await tx.execute("SET LOCAL enable_seqscan = off");
      // What a move's lock statement notes before its plan reads it (tenants/tree-locks.ts).
      await tx.query("SELECT set_config('stratum.locked_path', '', true), set_config('stratum.locked_parent_path', '', true)");
      const [row] = await tx.query<{ "QUERY PLAN": unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
      const walk = (node: Record<string, unknown>) => {
        // A sequential scan, or an index walked whole with the condition as a row filter.
        const whole = node["Node Type"] === "Seq Scan" || (String(node["Node Type"]).startsWith("Index") && !node["Index Cond"]);
        if (whole && Number(node["Actual Loops"]) > 0) seq.push(String(node["Relation Name"]));
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk((row!["QUERY PLAN"] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
      throw rolledBack;
    })
    .catch((error: unknown) => {
      if (error !== rolledBack) throw error;
    });
  return seq;
}

async function tenantsNamed(name: string): Promise<number> {
  return (await admin.query("SELECT count(*)::int AS n FROM stratum_tenants WHERE name = $1", [name])).rows[0].n as number;
}

describe("services on the driver", () => {
  it("create, config, permissions and audit open no Prisma interactive transaction", async () => {
    const root = await prisma.$stratum.createTenant({ name: "Driver Root" });
    const child = await prisma.$stratum.createTenant({ name: "Driver Child", parent_id: root.id });
    await prisma.$stratum.setConfig(root.id, "theme", { value: "dark" });
    await prisma.$stratum.createPermission(root.id, { key: "billing", value: true, mode: "INHERITED" });
    expect(await prisma.$stratum.resolveConfig(child.id)).toMatchObject({ theme: { value: "dark" } });
    expect(await prisma.$stratum.resolvePermissions(child.id)).toMatchObject({ billing: { value: true } });
    const audit = await prisma.$stratum.listAudit(root.id);
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(["tenant.create", "config.set", "permission.create"]));
    expect(transactions).not.toHaveBeenCalled();
  });

  it("a create's locks and insert travel together, and a refused insert still says why", async () => {
    const parent = await prisma.$stratum.getTenantBySlug("driver_root");
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (error: unknown) => (isStratumError(error) ? error.code : error),
      );
    expect(await codeOf(prisma.$stratum.createTenant({ name: "Driver Orphan", parent_id: "00000000-0000-4000-8000-000000000000" }))).toBe("TENANT_NOT_FOUND");
    expect(await codeOf(prisma.$stratum.createTenant({ name: "Driver Child", slug: "driver_child", parent_id: parent.id }))).toBe("SLUG_TAKEN");
    const archived = await prisma.$stratum.createTenant({ name: "Driver Archived", parent_id: parent.id });
    await prisma.$stratum.archiveTenant(archived.id);
    expect(await codeOf(prisma.$stratum.createTenant({ name: "Driver Under Archived", parent_id: archived.id }))).toBe("TENANT_ARCHIVED");
    const child = await prisma.$stratum.createTenant({ name: "Driver Second Child", parent_id: parent.id });
    expect(child.parent_id).toBe(parent.id);
  });

  it("renames racing to one slug: one wins, the others are SLUG_TAKEN (pg's 23505 is in its code, not its message)", async () => {
    const parent = await prisma.$stratum.getTenantBySlug("driver_root");
    const racers = await Promise.all([1, 2, 3, 4].map((i) => prisma.$stratum.createTenant({ name: `Driver Racer ${i}`, parent_id: parent.id })));
    const outcomes = await Promise.all(
      racers.map((t) =>
        prisma.$stratum.changeSlug(t.id, "driver_raced").then(
          () => "ok",
          (error: unknown) => (isStratumError(error) ? error.code : String(error)),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
    expect(outcomes.filter((o) => o !== "ok")).toEqual(["SLUG_TAKEN", "SLUG_TAKEN", "SLUG_TAKEN"]);
  });

  it("a transaction's statements share one connection and one transaction, under the signed admin scope", async () => {
    type Facts = { pid: number; xact: string; scope: string; path: string };
    const sql = "SELECT pg_backend_pid() AS pid, now()::text AS xact, current_setting('stratum.tenant_id') AS scope, current_setting('search_path') AS path";
    const [first, second] = await adminDb().transaction(async (tx) => [(await tx.query<Facts>(sql))[0], (await tx.query<Facts>(sql))[0]]);
    expect(second).toEqual(first);
    expect(first?.scope).toBe(signScope(db.scopeKey, ADMIN_TENANT_ID, "a"));
    expect(first?.path).toBe(SHARED_SEARCH_PATH);
  });

  it("a failed service transaction leaves nothing written", async () => {
    // The row is inserted, then provisioning refuses the unknown server: all of it rolls back.
    const failed = await prisma.$stratum.createTenant({ name: "Driver Nowhere", isolation_strategy: "DATABASE", server: "nowhere" }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isStratumError(failed) && failed.code).toBe("PLACEMENT_UNKNOWN");
    expect(await tenantsNamed("Driver Nowhere")).toBe(0);
    const audited = await admin.query("SELECT count(*)::int AS n FROM stratum_audit WHERE after->>'name' = 'Driver Nowhere'");
    expect(audited.rows[0].n).toBe(0);
  });

  it("a throw after a write rolls it back; a nested throw rolls back only its savepoint", async () => {
    const insert = "INSERT INTO public.stratum_tenants (id, slug, name, updated_at) VALUES (gen_random_uuid(), $1, $2, now())";
    await expect(
      adminDb().transaction(async (tx) => {
        await tx.execute(insert, ["driver_thrown", "Driver Thrown"]);
        throw new Error("after the write");
      }),
    ).rejects.toThrow("after the write");
    expect(await tenantsNamed("Driver Thrown")).toBe(0);

    await adminDb().transaction(async (tx) => {
      await tx.execute(insert, ["driver_kept", "Driver Kept"]);
      await tx
        .transaction(async (inner) => {
          await inner.execute(insert, ["driver_inner", "Driver Inner"]);
          throw new Error("inner");
        })
        .catch(() => undefined);
    });
    expect(await tenantsNamed("Driver Kept")).toBe(1);
    expect(await tenantsNamed("Driver Inner")).toBe(0);
  });

  it("a deferred statement rides with the COMMIT (or the next statement); when it fails, nothing is written", async () => {
    const insert = "INSERT INTO public.stratum_tenants (id, slug, name, updated_at) VALUES (gen_random_uuid(), $1, $2, now())";
    await adminDb().transaction(async (tx) => {
      tx.defer?.(insert, ["driver_deferred", "Driver Deferred"]);
      tx.defer?.(insert, ["driver_deferred_two", "Driver Deferred"]);
    });
    expect(await tenantsNamed("Driver Deferred")).toBe(2);
    // Seen by the next statement of the transaction, which it travels with.
    const seen = await adminDb().transaction(async (tx) => {
      tx.defer?.(insert, ["driver_deferred_seen", "Driver Deferred Seen"]);
      return tx.query<{ n: number }>("SELECT count(*)::int AS n FROM public.stratum_tenants WHERE slug = 'driver_deferred_seen'");
    });
    expect(seen).toEqual([{ n: 1 }]);

    const failed = await adminDb()
      .transaction(async (tx) => {
        await tx.execute(insert, ["driver_before_bad", "Driver Before Bad"]);
        tx.defer?.(insert, ["driver_deferred", "Driver Deferred Duplicate"]); // slug taken: 23505 at COMMIT
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect((failed as { code?: string }).code).toBe("23505");
    expect(await tenantsNamed("Driver Before Bad")).toBe(0);
    // The connection went back to the pool clean: the next transaction works.
    expect((await prisma.$stratum.createTenant({ name: "Driver After Deferred" })).name).toBe("Driver After Deferred");
  });

  it("a create is one round trip: locks, insert, audit row and COMMIT; the audit row holds the tenant as created", async () => {
    const parent = await prisma.$stratum.createTenant({ name: "Driver One Trip Parent" });
    const sends = vi.spyOn(pg.Client.prototype, "query");
    let child: Awaited<ReturnType<typeof prisma.$stratum.createTenant>>;
    try {
      child = await prisma.$stratum.createTenant({ name: "Driver One Trip", parent_id: parent.id, metadata: { plan: "gold", secret: "s3cret" } });
      // Every pipeline the driver sends goes through pg's Client#query once.
      expect(sends).toHaveBeenCalledTimes(1);
    } finally {
      sends.mockRestore();
    }
    expect(child.path).toEqual([parent.id, child.id]);
    // Queued before the row was known: what the database computed (path, depth, timestamps) was
    // merged in as it was written, and the metadata redacted as for any audited write.
    const { rows } = await admin.query("SELECT after FROM stratum_audit WHERE action = 'tenant.create' AND target_id = $1", [child.id]);
    expect(rows).toEqual([{ after: JSON.parse(JSON.stringify({ ...child, metadata: { plan: "gold", secret: "[REDACTED]" } })) }]);
  });

  it("a refused create writes nothing: no row, no audit entry, and the connection is clean for the next", async () => {
    const parent = await prisma.$stratum.createTenant({ name: "Driver Refusing Parent" });
    await prisma.$stratum.archiveTenant(parent.id);
    const refused = async (input: Parameters<typeof prisma.$stratum.createTenant>[0]) =>
      prisma.$stratum.createTenant(input).then(
        () => "created",
        (error: unknown) => (isStratumError(error) ? error.code : String(error)),
      );
    expect(await refused({ name: "Driver Refused", parent_id: parent.id })).toBe("TENANT_ARCHIVED");
    expect(await refused({ name: "Driver Refused", parent_id: "00000000-0000-4000-8000-000000000042" })).toBe("TENANT_NOT_FOUND");
    expect(await refused({ name: "Driver Refused", slug: "driver_refusing_parent" })).toBe("SLUG_TAKEN");
    expect(await tenantsNamed("Driver Refused")).toBe(0);
    const audited = await admin.query("SELECT count(*)::int AS n FROM stratum_audit WHERE after->>'name' = 'Driver Refused'");
    expect(audited.rows[0].n).toBe(0);
    await prisma.$stratum.restoreTenant(parent.id);
    expect((await prisma.$stratum.createTenant({ name: "Driver Accepted", parent_id: parent.id })).parent_id).toBe(parent.id);
  });

  it("commitWith: what follows the last statement fails it whole; inside a savepoint it commits nothing early; nothing may follow it", async () => {
    const insert = "INSERT INTO public.stratum_tenants (id, slug, name, updated_at) VALUES (gen_random_uuid(), $1, $2, now()) RETURNING slug";
    // A deferred statement after the last one fails (slug taken): the last one is rolled back too.
    await adminDb().transaction((tx) => commitWith(tx, insert, ["driver_last_taken", "Driver Last"], undefined, async () => undefined));
    const failed = await adminDb()
      .transaction((tx) =>
        commitWith(tx, insert, ["driver_last_two", "Driver Last Two"], undefined, async (after) => {
          after.defer?.(insert, ["driver_last_taken", "Driver Last Two"]);
        }),
      )
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect((failed as { code?: string }).code).toBe("23505");
    expect(await tenantsNamed("Driver Last Two")).toBe(0);
    // In a nested transaction (a savepoint) it does not commit the enclosing one.
    await expect(
      adminDb().transaction(async (tx) => {
        await tx.transaction((inner) => commitWith(inner, insert, ["driver_last_nested", "Driver Last Nested"], undefined, async () => undefined));
        throw new Error("after the savepoint");
      }),
    ).rejects.toThrow("after the savepoint");
    expect(await tenantsNamed("Driver Last Nested")).toBe(0);
    // After it, a statement is refused rather than run outside the committed transaction.
    const late = await adminDb()
      .transaction(async (tx) => {
        await commitWith(tx, insert, ["driver_last_late", "Driver Last Late"], undefined, async () => undefined);
        await tx.query("SELECT 1");
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isStratumError(late) && late.code).toBe("INTERNAL");
    expect(await tenantsNamed("Driver Last Late")).toBe(1);
  });

  it("a change event's NOTIFY rides with the COMMIT, and is delivered only when it commits", async () => {
    const bus = createPgChangeBus({ connectionString: db.adminUrl, channel: "driver_bus" });
    await bus.ready;
    const seen: ChangeEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const tenantId = (await prisma.$stratum.createTenant({ name: "Driver Bus" })).id;
    const sent = { sent: 0, deferred: 0 };
    const publishIn = (rollBack: boolean) =>
      adminDb().transaction(async (tx) => {
        const counting = countingDb(tx, sent);
        await bus.publish(counting, { kind: "config", tenantId, subtree: rollBack });
        if (rollBack) throw new Error("roll back");
      });
    await publishIn(true).catch(() => undefined);
    await publishIn(false);
    // No statement of its own: the NOTIFY waited for the COMMIT's round trip.
    expect(sent).toEqual({ sent: 0, deferred: 2 });
    // NOTIFYs arrive in commit order: once the committed event is here, the rolled-back one never will be.
    await vi.waitFor(() => expect(seen.length).toBeGreaterThan(0), { timeout: 10_000, interval: 10 });
    expect(seen).toEqual([{ kind: "config", tenantId, subtree: false }]);
    await bus.close();
  });

  it("with webhooks configured, an audited write's event rides with its audit row and the COMMIT: no round trip of its own", async () => {
    await withConfigWebhook("Driver Hooks", async (tenant, audit) => {
      const sent = { sent: 0, deferred: 0 };
      const writeIn = (rollBack: boolean) =>
        adminDb().transaction(async (tx) => {
          const counting = countingDb(tx, sent);
          await audit.record(counting, { tenantId: tenant.id, action: "config.set", targetType: "config", targetId: "theme", after: { rollBack } });
          if (rollBack) throw new Error("roll back");
        });
      await writeIn(true).catch(() => undefined);
      await writeIn(false);
      // The audit row and the event, twice; neither waited for an answer of its own.
      expect(sent).toEqual({ sent: 0, deferred: 4 });
      // Queued exactly when the write committed.
      expect(await deliveredAfters(tenant.id)).toEqual([{ after: { rollBack: false } }]);
    });
  });

  it("an entry's mergeAfter merges a noted setting over `after`, in the audit row and in the webhook event alike", async () => {
    await withConfigWebhook("Driver Merge", async (tenant, audit) => {
      await adminDb().transaction(async (tx) => {
        await tx.query("SELECT pg_catalog.set_config('stratum.merge_test', $1, true)", [JSON.stringify({ path: ["a", "b"], depth: 1 })]);
        await audit.record(tx, {
          tenantId: tenant.id,
          action: "config.set",
          targetType: "config",
          targetId: "merge",
          after: { key: "merge", password: "hunter2" },
          mergeAfter: "stratum.merge_test",
        });
      });
      const expected = { key: "merge", password: "[REDACTED]", path: ["a", "b"], depth: 1 };
      const audited = await admin.query("SELECT after FROM stratum_audit WHERE target_id = 'merge' AND tenant_id = $1", [tenant.id]);
      expect(audited.rows).toEqual([{ after: expected }]);
      expect(await deliveredAfters(tenant.id)).toEqual([{ after: expected }]);
      // Only stratum's own settings can be named.
      await expect(audit.record(adminDb(), { tenantId: tenant.id, action: "config.set", mergeAfter: "search_path" })).rejects.toMatchObject({
        code: "VALIDATION_FAILED",
      });
    });
  });

  it("moves and subtree reads find the subtree through indexes under the tenants' row security, where ltree's <@ reads the whole table", async () => {
    const root = await prisma.$stratum.createTenant({ name: "Driver Move Root" });
    const a = await prisma.$stratum.createTenant({ name: "Driver Move A", parent_id: root.id });
    const b = await prisma.$stratum.createTenant({ name: "Driver Move B", parent_id: root.id });
    const leaf = await prisma.$stratum.createTenant({ name: "Driver Move Leaf", parent_id: a.id });
    // The mechanism: the subtree by ltree, as moves found it before, cannot use the path index here.
    expect(
      await scanned("SELECT max(d.depth) FROM public.stratum_tenants d WHERE d.path <@ (SELECT path FROM public.stratum_tenants WHERE id = $1::uuid)", [a.id]),
    ).toContain("stratum_tenants");
    // The subtree as the services read it now (moves, deletes, descendants lists and views).
    expect(await scanned(`SELECT t.id FROM ${subtreeSql("$1::uuid")} sub, public.stratum_tenants t WHERE t.id = ANY(sub.ids)`, [a.id])).not.toContain(
      "stratum_tenants",
    );
    expect(await scanned(MOVE_PLAN, [leaf.id, b.id])).not.toContain("stratum_tenants");
    expect(await scanned(MOVE_REWRITE, [leaf.id, b.id])).not.toContain("stratum_tenants");
    // The function behind it reads as the table's owner, for the admin scope only: a tenant's raw
    // SQL that calls it learns nothing, not even its own subtree.
    const [asAdmin] = await adminDb().query<{ ids: string[] }>("SELECT public.stratum_subtree_ids($1::uuid) AS ids", [a.id]);
    expect([...asAdmin!.ids].sort()).toEqual([a.id, leaf.id].sort());
    const asTenant = await prisma.$tenant(a.id).$queryRaw<Array<{ ids: string[] }>>`SELECT public.stratum_subtree_ids(${a.id}::uuid) AS ids`;
    expect(asTenant[0]!.ids).toBeNull();
    // A service on a plain pool as the owner (tooling) has no admin scope: it reads the subtree itself.
    const ownerPool = new pg.Pool({ connectionString: db.ownerUrl, max: 1 });
    try {
      const [asOwner] = await pgDb(ownerPool).query<{ ids: string[] }>(`SELECT sub.ids FROM ${subtreeSql("$1::uuid")} sub`, [a.id]);
      expect([...asOwner!.ids].sort()).toEqual([a.id, leaf.id].sort());
    } finally {
      await ownerPool.end();
    }
    // And the move still moves the whole subtree.
    const grandchild = await prisma.$stratum.createTenant({ name: "Driver Move Grandchild", parent_id: leaf.id });
    await prisma.$stratum.moveTenant(leaf.id, b.id);
    expect((await prisma.$stratum.getTenant(grandchild.id)).path).toEqual([...(await prisma.$stratum.getTenant(b.id)).path, leaf.id, grandchild.id]);
  });

  it("ancestors, roots, pages, role chains, cascading revocations and webhook events find their tenants by primary key, where ltree's @> reads the whole table", async () => {
    const root = await prisma.$stratum.createTenant({ name: "Driver Chain Root" });
    const mid = await prisma.$stratum.createTenant({ name: "Driver Chain Mid", parent_id: root.id });
    const leaf = await prisma.$stratum.createTenant({ name: "Driver Chain Leaf", parent_id: mid.id });
    await admin.query(
      "INSERT INTO stratum_webhooks (id, tenant_id, url, secret, events) VALUES (gen_random_uuid(), $1, 'https://hooks.example/chain', 's', '{chain.*}')",
      [root.id],
    );
    // The mechanism: the chain by ltree, as these reads found it before, cannot use the path index here.
    expect(
      await scanned("SELECT a.id FROM public.stratum_tenants t JOIN public.stratum_tenants a ON a.path @> t.path WHERE t.id = $1::uuid", [leaf.id]),
    ).toContain("stratum_tenants");
    const statements: Array<[string, string, unknown[]]> = [
      ["root", ROOT_SQL, [leaf.id]],
      ["ancestors", ANCESTORS_SQL, [leaf.id]],
      ["ancestors page", ANCESTORS_PAGE_SQL, [leaf.id, 0, 10]],
      ["descendants", DESCENDANTS_SQL, [root.id]],
      ["descendants page", DESCENDANTS_PAGE_SQL, [root.id, null, 10]],
      ["role chain", CHAIN_ASSIGNMENTS_SQL, [leaf.id, "user", "driver-chain"]],
      ["cascading revocation", REVOKE_BELOW_SQL, [root.id, "chain.read"]],
      ["webhook event", EMIT_SQL, ["chain.moved", leaf.id, "{}", ["chain.moved", "*", "chain.*"], ""]],
    ];
    for (const [what, sql, params] of statements) expect({ what, scanned: await scanned(sql, params) }).toEqual({ what, scanned: [] });
    // And they answer as before: the chain root first, the root, the event for the root's webhook.
    expect((await prisma.$stratum.getAncestors(leaf.id)).map((t) => t.id)).toEqual([root.id, mid.id]);
    expect((await prisma.$stratum.getRoot(leaf.id)).id).toBe(root.id);
    const page = await prisma.$stratum.getAncestorsPage(leaf.id, { limit: 1 });
    expect(page.data.map((t) => t.id)).toEqual([root.id]);
    expect((await prisma.$stratum.getAncestorsPage(leaf.id, { limit: 1, cursor: page.next_cursor })).data.map((t) => t.id)).toEqual([mid.id]);
    const emit = async (tenantId: string) =>
      (await adminDb().query<{ found: boolean; ids: string[] }>(EMIT_SQL, ["chain.moved", tenantId, "{}", ["chain.moved", "*", "chain.*"], ""]))[0]!;
    expect(await emit(leaf.id)).toMatchObject({ found: true, ids: [expect.any(String)] });
    expect(await emit("00000000-0000-4000-8000-0000000000c1")).toEqual({ found: false, ids: [] });
  });

  it("a named deferred statement is prepared once per connection, also after a pipeline that failed past its Parse", async () => {
    const one = stratumAdapter({ connectionString: db.appUrl, pool: { max: 1 } });
    const oneBase = new PrismaClient({ adapter: one });
    await oneBase.$connect();
    const onOne = adminDb(one);
    const insert = "INSERT INTO public.stratum_tenants (id, slug, name, updated_at) VALUES (gen_random_uuid(), $1, $2, now())";
    const named = { name: "driver_test_deferred_insert" };
    const deferred = (slug: string) => onOne.transaction(async (tx) => tx.defer?.(insert, [slug, "Driver Named"], named));
    const prepared = async () =>
      (await onOne.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE name = $1", [named.name])).map((r) => r.name);
    try {
      // Its first pipeline parses it, then fails executing it (the slug is taken): the server holds
      // the name, the client never saw it run. The next pipeline must not trip over it (42P05).
      const failed = await deferred("driver_root").then(
        () => undefined,
        (error: unknown) => (error as { code?: string }).code,
      );
      expect(failed).toBe("23505");
      await deferred("driver_named_one");
      await deferred("driver_named_two");
      // Twice in one pipeline, under a name this connection has not prepared yet.
      const fresh = { name: `${named.name}_twice` };
      await onOne.transaction(async (tx) => {
        tx.defer?.(insert, ["driver_named_three", "Driver Named"], fresh);
        tx.defer?.(insert, ["driver_named_four", "Driver Named"], fresh);
      });
      expect(await tenantsNamed("Driver Named")).toBe(4);
      expect(await prepared()).toEqual([named.name]);
    } finally {
      await oneBase.$disconnect();
    }
  });

  it("a failed statement that was caught makes the commit refuse, not report success", async () => {
    const failed = await adminDb()
      .transaction(async (tx) => {
        await tx.execute(
          "INSERT INTO public.stratum_tenants (id, slug, name, updated_at) VALUES (gen_random_uuid(), 'driver_swallowed', 'Driver Swallowed', now())",
        );
        await tx.query("SELECT 1/0").catch(() => undefined);
        return "done";
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isStratumError(failed) && failed.code).toBe("INTERNAL");
    expect(await tenantsNamed("Driver Swallowed")).toBe(0);
  });

  it("a connection killed mid-transaction fails CONNECTION_LOST, commits nothing, and the pool heals", async () => {
    const failed = await adminDb()
      .transaction(async (tx) => {
        await tx.execute("INSERT INTO public.stratum_tenants (id, slug, name, updated_at) VALUES (gen_random_uuid(), 'driver_killed', 'Driver Killed', now())");
        const [{ pid }] = (await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")) as [{ pid: number }];
        await admin.query("SELECT pg_terminate_backend($1)", [pid]);
        await tx.query("SELECT 1");
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isStratumError(failed) && failed.code).toBe("CONNECTION_LOST");
    expect(isStratumError(failed) && failed.details).toMatchObject({ mayHaveCommitted: false });
    expect(await tenantsNamed("Driver Killed")).toBe(0);
    expect((await prisma.$stratum.createTenant({ name: "Driver Healed" })).name).toBe("Driver Healed");
  });

  it("a connection lost under the first call's safety check fails that call only: the next one checks again", async () => {
    const fresh = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl, pool: { max: 1 } }) });
    const raw = vi.spyOn(fresh, "$queryRawUnsafe").mockRejectedValueOnce(new Error("Connection terminated unexpectedly"));
    try {
      const freshPrisma = extend(fresh);
      const root = await prisma.$stratum.createTenant({ name: "Driver Checked Again" });
      await expect(freshPrisma.$tenant(root.id).user.count()).rejects.toThrow("Connection terminated unexpectedly");
      expect(await freshPrisma.$tenant(root.id).user.count()).toBe(0);
    } finally {
      raw.mockRestore();
      await fresh.$disconnect();
    }
  });

  it("after $disconnect the services reconnect Prisma's adapter and use its new pool", async () => {
    const before = adapter.mainPool();
    await base.$disconnect();
    expect(adapter.mainPool()).toBeUndefined();
    const tenant = await prisma.$stratum.getTenantBySlug("driver_root");
    expect(tenant.name).toBe("Driver Root");
    expect(adapter.mainPool()).toBeDefined();
    expect(adapter.mainPool()).not.toBe(before);
  });

  describe.each([false, true])("resolves as named prepared statements, pooler %s", (pooler) => {
    it("prepares the resolves by name on a direct connection only, and survives a raw statement's DISCARD ALL", async () => {
      const one = stratumAdapter({ connectionString: db.appUrl, pool: { max: 1 }, pooler });
      const oneBase = new PrismaClient({ adapter: one });
      const onePrisma = extend(oneBase);
      try {
        const root = await onePrisma.$stratum.getTenantBySlug("driver_root");
        const prepared = async () =>
          (
            await onePrisma.$queryRawUnsafe<Array<{ name: string }>>(
              "SELECT name FROM pg_prepared_statements WHERE name LIKE 'stratum_resolve_%' ORDER BY name",
            )
          ).map((r) => r.name);
        await onePrisma.$stratum.resolveConfig(root.id);
        await onePrisma.$stratum.resolvePermissions(root.id);
        // The raw statement sees the session as the resolves left it (the reset comes after it).
        expect(await prepared()).toEqual(pooler ? [] : ["stratum_resolve_config", "stratum_resolve_permissions"]);
        // A create's statements too, the deferred ones (its locks, its audit row) included.
        await onePrisma.$stratum.createTenant({ name: `Driver Prepared ${pooler}`, parent_id: root.id });
        const createStatements = (
          await onePrisma.$queryRawUnsafe<Array<{ name: string }>>(
            "SELECT name FROM pg_prepared_statements WHERE name IN ('stratum_note_path_locks', 'stratum_tenant_create_child', 'stratum_audit_insert') ORDER BY name",
          )
        ).map((r) => r.name);
        expect(createStatements).toEqual(pooler ? [] : ["stratum_audit_insert", "stratum_note_path_locks", "stratum_tenant_create_child"]);
        // A scoped read that finds nothing re-reads its tenant's route (route-guard.ts): that lookup
        // is prepared too, not planned again under the tenants table's row security every time.
        expect(await onePrisma.$tenant(root.id).user.findMany({ where: { email: "nobody@driver.test" } })).toEqual([]);
        const routeStatements = (
          await onePrisma.$queryRawUnsafe<Array<{ name: string }>>("SELECT name FROM pg_prepared_statements WHERE name = 'stratum_route'")
        ).map((r) => r.name);
        expect(routeStatements).toEqual(pooler ? [] : ["stratum_route"]);
        // That raw statement's reset (DISCARD ALL) dropped them: after a write (which empties the
        // resolve cache) they are prepared again, not assumed.
        const theme = pooler ? "pooled" : "direct";
        await onePrisma.$stratum.setConfig(root.id, "theme", { value: theme });
        await onePrisma.$stratum.createPermission(root.id, { key: `export_${theme}`, value: true, mode: "INHERITED" });
        expect(await onePrisma.$stratum.resolveConfig(root.id)).toMatchObject({ theme: { value: theme } });
        expect(await onePrisma.$stratum.resolvePermissions(root.id)).toMatchObject({ [`export_${theme}`]: { value: true } });
        expect(await prepared()).toEqual(pooler ? [] : ["stratum_resolve_config", "stratum_resolve_permissions"]);
      } finally {
        await oneBase.$disconnect();
      }
    });
  });
});
