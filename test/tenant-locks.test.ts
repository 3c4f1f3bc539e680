/**
 * Tree writes lock no wider than the change (src/tenants/tree-locks.ts, keys in src/core/locks.ts):
 * a create locks its parent's path, a move its subtree and the two paths it reads, a config or
 * permission write its tenant's path. A write is held open right after it took its locks (a Db
 * that pauses there), and what must proceed, proceeds; what must wait is seen waiting in pg_locks
 * and pg_stat_activity.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { pgDb, type Db } from "../src/core/db.js";
import { createConfigService } from "../src/config/service.js";
import { isStratumError, type Tenant } from "../src/index.js";
import { createPermissionService } from "../src/permissions/service.js";
import { createTenantService, type TenantService } from "../src/tenants/service.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let admin: pg.Pool;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase({ label: "tenant_locks" });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 3 });
  pool = new pg.Pool({ connectionString: db.ownerUrl, max: 8 });
});

afterAll(async () => {
  await pool?.end();
  await admin?.end();
  await db?.drop();
});

/**
 * A Db whose first statement matching `at` (default: the exclusive advisory lock of a move,
 * archive or delete) stops its transaction right after it, until `release()`: a write held open
 * with its locks taken.
 */
function pausingDb(at: (sql: string) => boolean = (sql) => sql.includes("pg_advisory_xact_lock(")): { db: Db; paused: Promise<void>; release: () => void } {
  const inner = pgDb(pool);
  let signal!: () => void;
  let release!: () => void;
  const paused = new Promise<void>((resolve) => (signal = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let armed = true;
  const pause = async (sql: string) => {
    if (!armed || !at(sql)) return;
    armed = false;
    signal();
    await released;
  };
  const db: Db = {
    query: inner.query,
    execute: inner.execute,
    transaction: (fn) =>
      inner.transaction((tx) =>
        fn({
          transaction: tx.transaction,
          async query(sql, params) {
            const rows = await tx.query(sql, params);
            await pause(sql);
            return rows as never;
          },
          async execute(sql, params) {
            const n = await tx.execute(sql, params);
            await pause(sql);
            return n;
          },
        }),
      ),
  };
  return { db, paused, release };
}

const audit = { record: async () => undefined };

/** Advisory locks some backend of this database is waiting for. */
async function waitingAdvisoryLocks(): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
      WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`,
  );
  return rows[0]!.n;
}

/** Backends of this database waiting for an advisory lock (pg_stat_activity). */
async function advisoryWaiters(): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
  );
  return rows[0]!.n;
}

/** The advisory locks (subtree key → mode) held by the backend that holds `tenantId`'s subtree lock exclusively. */
async function advisoryLocksOf(tenantId: string): Promise<Record<string, string>> {
  const { rows } = await admin.query<{ key: string; mode: string }>(
    `WITH held AS (SELECT l.pid, l.mode, ((l.classid::bigint << 32) | l.objid::bigint)::text AS key
                     FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                    WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database())
     SELECT key, mode FROM held WHERE pid = (SELECT pid FROM held WHERE mode = 'ExclusiveLock' AND key = hashtextextended($1, 1)::text)`,
    [tenantId],
  );
  return Object.fromEntries(rows.map((r) => [r.key, r.mode]));
}

/** Tenant id → mode, keyed like advisoryLocksOf (the subtree lock key of each tenant). */
function lockSet(modes: Record<string, string>): Promise<Record<string, string>> {
  return admin
    .query<{ id: string; key: string }>(`SELECT id, hashtextextended(id, 1)::text AS key FROM unnest($1::text[]) AS id`, [Object.keys(modes)])
    .then(({ rows }) => Object.fromEntries(rows.map((r) => [r.key, modes[r.id]!])));
}

async function assertTreeInvariants(): Promise<void> {
  const { rows } = await admin.query(`
    SELECT count(*) FILTER (WHERE c.depth <> nlevel(c.path) - 1)::int AS bad_depth,
           count(*) FILTER (WHERE c.parent_id IS NULL AND c.path <> text2ltree(replace(c.id::text, '-', '_')))::int AS bad_root,
           count(*) FILTER (WHERE c.parent_id IS NOT NULL AND (p.id IS NULL OR c.path <> p.path || text2ltree(replace(c.id::text, '-', '_'))))::int AS bad_child
      FROM stratum_tenants c LEFT JOIN stratum_tenants p ON p.id = c.parent_id`);
  expect(rows[0]).toEqual({ bad_depth: 0, bad_root: 0, bad_child: 0 });
}

/** Root → x → x1 (moves) and x → xt (its target); root → y → y1. */
async function smallTree(service: TenantService, tag: string) {
  const root = await service.createTenant({ name: `${tag} root` });
  const x = await service.createTenant({ name: `${tag} x`, parent_id: root.id });
  const x1 = await service.createTenant({ name: `${tag} x1`, parent_id: x.id });
  const xt = await service.createTenant({ name: `${tag} xt`, parent_id: x.id });
  const y = await service.createTenant({ name: `${tag} y`, parent_id: root.id });
  const y1 = await service.createTenant({ name: `${tag} y1`, parent_id: y.id });
  return { root, x, x1, xt, y, y1 };
}

describe("locks no wider than the change", () => {
  it("a create in another subtree completes while a move is held open; a create inside the moving subtree waits and lands on the new path", async () => {
    const plain = createTenantService(pgDb(pool), { audit });
    const t = await smallTree(plain, "disjoint");
    const pausing = pausingDb();
    const mover = createTenantService(pausing.db, { audit });

    const move = mover.moveTenant(t.x1.id, t.xt.id);
    await pausing.paused; // the move holds its locks (x1 exclusive, its ancestors and xt shared), uncommitted
    try {
      // Disjoint: a create under y1, and a create under x (the moving subtree's parent, not in it).
      const elsewhere = await plain.createTenant({ name: "disjoint under y1", parent_id: t.y1.id });
      expect(elsewhere.path).toEqual([t.root.id, t.y.id, t.y1.id, elsewhere.id]);
      const sibling = await plain.createTenant({ name: "disjoint under x", parent_id: t.x.id });
      expect(sibling.parent_id).toBe(t.x.id);

      // Inside: under x1, which is moving. It must wait for the move, then use x1's new path.
      const before = await waitingAdvisoryLocks();
      const inside = plain.createTenant({ name: "inside x1", parent_id: t.x1.id });
      await vi.waitFor(async () => expect(await waitingAdvisoryLocks()).toBe(before + 1), { timeout: 10_000, interval: 20 });
      pausing.release();
      const [moved, child] = await Promise.all([move, inside]);
      expect(moved.path).toEqual([t.root.id, t.x.id, t.xt.id, t.x1.id]);
      expect(child.path).toEqual([t.root.id, t.x.id, t.xt.id, t.x1.id, child.id]);
    } finally {
      pausing.release();
      await move.catch(() => undefined);
    }
    await assertTreeInvariants();
  });

  it("a move holds no tree-wide lock: shared locks on its old ancestors and its new parent's path, an exclusive one on itself, nothing else", async () => {
    const plain = createTenantService(pgDb(pool), { audit });
    const t = await smallTree(plain, "lockset");
    const pausing = pausingDb();
    const move = createTenantService(pausing.db, { audit }).moveTenant(t.x1.id, t.y1.id);
    await pausing.paused;
    try {
      expect(await advisoryLocksOf(t.x1.id)).toEqual(
        await lockSet({ [t.root.id]: "ShareLock", [t.x.id]: "ShareLock", [t.y.id]: "ShareLock", [t.y1.id]: "ShareLock", [t.x1.id]: "ExclusiveLock" }),
      );
    } finally {
      pausing.release();
    }
    expect((await move).path).toEqual([t.root.id, t.y.id, t.y1.id, t.x1.id]);

    const archiving = pausingDb();
    const archive = createTenantService(archiving.db, { audit }).archiveTenant(t.xt.id);
    await archiving.paused;
    try {
      expect(await advisoryLocksOf(t.xt.id)).toEqual(await lockSet({ [t.xt.id]: "ExclusiveLock" }));
    } finally {
      archiving.release();
    }
    expect((await archive).status).toBe("archived");
    await assertTreeInvariants();
  });

  it("moves and creates in disjoint subtrees commit while a move is held open; a move over, under or into the moving subtree waits", async () => {
    const plain = createTenantService(pgDb(pool), { audit });
    const t = await smallTree(plain, "parallel");
    const y2 = await plain.createTenant({ name: "parallel y2", parent_id: t.y.id });
    const pausing = pausingDb();
    const move = createTenantService(pausing.db, { audit }).moveTenant(t.x1.id, t.xt.id);
    await pausing.paused; // x1 moving under xt, uncommitted
    const waiting: Promise<unknown>[] = [];
    try {
      // Disjoint: y1 moves within y (sharing only root with the held move), and back; a create under y2.
      expect((await plain.moveTenant(t.y1.id, y2.id)).path).toEqual([t.root.id, t.y.id, y2.id, t.y1.id]);
      expect((await plain.createTenant({ name: "parallel under y1", parent_id: t.y1.id })).parent_id).toBe(t.y1.id);
      expect((await plain.moveTenant(t.y1.id, t.y.id)).path).toEqual([t.root.id, t.y.id, t.y1.id]);

      // Overlapping: x (above x1) moving under y, y2 moving into x1, and x1 itself moving again.
      const before = await advisoryWaiters();
      waiting.push(plain.moveTenant(t.x.id, t.y.id), plain.moveTenant(y2.id, t.x1.id), plain.moveTenant(t.x1.id, t.x.id));
      await vi.waitFor(async () => expect(await advisoryWaiters()).toBe(before + 3), { timeout: 10_000, interval: 20 });
    } finally {
      pausing.release();
    }
    await move;
    await Promise.all(waiting);
    // Whatever order the three took once released, each set one parent: x under y, x1 under x, y2 under x1.
    expect((await plain.getTenant(y2.id)).path).toEqual([t.root.id, t.y.id, t.x.id, t.x1.id, y2.id]);
    await assertTreeInvariants();
  });

  it("a move whose new parent moved while it waited starts over and locks the new path before it writes", async () => {
    const plain = createTenantService(pgDb(pool), { audit });
    const t = await smallTree(plain, "restart");
    const first = pausingDb();
    const m1 = createTenantService(first.db, { audit }).moveTenant(t.x1.id, t.xt.id);
    await first.paused; // x1 moving under xt
    // y1 is to move under x1: it reads x1's old path, then waits for x1's lock.
    const second = pausingDb((sql) => sql.includes("UPDATE public.stratum_tenants t"));
    const before = await advisoryWaiters();
    const m2 = createTenantService(second.db, { audit }).moveTenant(t.y1.id, t.x1.id);
    try {
      await vi.waitFor(async () => expect(await advisoryWaiters()).toBe(before + 1), { timeout: 10_000, interval: 20 });
    } finally {
      first.release();
    }
    await m1;
    await second.paused; // y1's subtree rewritten, uncommitted: it must hold x1's new path (xt on it)
    try {
      expect(await advisoryLocksOf(t.y1.id)).toEqual(
        await lockSet({
          [t.root.id]: "ShareLock",
          [t.y.id]: "ShareLock",
          [t.x.id]: "ShareLock",
          [t.xt.id]: "ShareLock",
          [t.x1.id]: "ShareLock",
          [t.y1.id]: "ExclusiveLock",
        }),
      );
    } finally {
      second.release();
    }
    expect((await m2).path).toEqual([t.root.id, t.x.id, t.xt.id, t.x1.id, t.y1.id]);
    await assertTreeInvariants();
  });

  it("a config or permission write racing a move of its tenant's ancestor uses the chain it commits under", async () => {
    const plain = createTenantService(pgDb(pool), { audit });
    const root = await plain.createTenant({ name: "chain root" });
    const a = await plain.createTenant({ name: "chain a", parent_id: root.id });
    const b = await plain.createTenant({ name: "chain b", parent_id: root.id });
    const m = await plain.createTenant({ name: "chain m", parent_id: a.id });
    const leaf = await plain.createTenant({ name: "chain leaf", parent_id: m.id });
    const perms = createPermissionService(pgDb(pool), { audit, cache: false });
    const config = createConfigService(pgDb(pool), { audit, cache: false });
    await perms.createPermission(a.id, { key: "reports", value: "a", mode: "DELEGATED" });
    await perms.createPermission(b.id, { key: "reports", value: "b", mode: "DELEGATED" });
    await config.setConfig(b.id, "plan", { value: "b", locked: true });

    // The move of m (leaf's parent) from a to b is held open; the writes at leaf read the old chain
    // (a), wait for m's lock, then must find the new chain (b) and act on it.
    const pausing = pausingDb();
    const move = createTenantService(pausing.db, { audit }).moveTenant(m.id, b.id);
    await pausing.paused;
    const before = await advisoryWaiters();
    const grant = perms.createPermission(leaf.id, { key: "reports", value: "leaf", mode: "INHERITED" });
    const set = config.setConfig(leaf.id, "plan", { value: "leaf" }).then(
      () => "set",
      (e: unknown) => (isStratumError(e, "CONFIG_LOCKED") ? "refused" : e),
    );
    try {
      await vi.waitFor(async () => expect(await advisoryWaiters()).toBe(before + 2), { timeout: 10_000, interval: 20 });
    } finally {
      pausing.release();
    }
    await move;
    expect((await grant).delegated_from).toBe(b.id);
    expect(await set).toBe("refused");
    expect((await perms.resolvePermission(leaf.id, "reports"))?.value).toBe("leaf");
    expect((await config.resolveConfig(leaf.id)).plan).toMatchObject({ value: "b", source_tenant_id: b.id });

    // The other way round: a write at m held open after its path locks makes a move of m wait; the
    // write keeps the chain it locked (under b), the move lands after it.
    const writing = pausingDb((sql) => sql.includes("pg_advisory_xact_lock("));
    const second = createPermissionService(writing.db, { audit, cache: false }).createPermission(m.id, { key: "reports", value: "m", mode: "INHERITED" });
    await writing.paused;
    const waitersBefore = await advisoryWaiters();
    const back = plain.moveTenant(m.id, a.id);
    try {
      await vi.waitFor(async () => expect(await advisoryWaiters()).toBe(waitersBefore + 1), { timeout: 10_000, interval: 20 });
    } finally {
      writing.release();
    }
    expect((await second).delegated_from).toBe(b.id);
    expect((await back).parent_id).toBe(a.id);
    await assertTreeInvariants();
  });

  it("a create held open after its insert does not hold up another create under the same parent", async () => {
    const plain = createTenantService(pgDb(pool), { audit });
    const t = await smallTree(plain, "same_parent");
    const pausing = pausingDb((sql) => sql.includes("INSERT INTO public.stratum_tenants"));
    const slow = createTenantService(pausing.db, { audit }).createTenant({ name: "held open under y1", parent_id: t.y1.id });
    await pausing.paused; // its chain locks and its row, uncommitted
    try {
      const other = await plain.createTenant({ name: "beside it under y1", parent_id: t.y1.id });
      expect(other.path).toEqual([t.root.id, t.y.id, t.y1.id, other.id]);
    } finally {
      pausing.release();
    }
    expect((await slow).parent_id).toBe(t.y1.id);
  });

  it("a delete held open makes a create under that tenant wait, then refuse", async () => {
    const plain = createTenantService(pgDb(pool), { audit });
    const t = await smallTree(plain, "delete");
    const pausing = pausingDb();
    const remove = createTenantService(pausing.db, { audit }).deleteTenant(t.y1.id);
    await pausing.paused;
    const before = await waitingAdvisoryLocks();
    const outcome = plain.createTenant({ name: "under y1 while it is deleted", parent_id: t.y1.id }).then(
      () => "created",
      (e: unknown) => (isStratumError(e, "TENANT_NOT_FOUND") ? "refused" : e),
    );
    await vi.waitFor(async () => expect(await waitingAdvisoryLocks()).toBe(before + 1), { timeout: 10_000, interval: 20 });
    pausing.release();
    expect((await remove).deleted).toEqual([t.y1.id]);
    expect(await outcome).toBe("refused");
  });

  it("an archive held open makes a create under that tenant wait, then refuse", async () => {
    const plain = createTenantService(pgDb(pool), { audit });
    const t = await smallTree(plain, "archive");
    const pausing = pausingDb();
    const archiver = createTenantService(pausing.db, { audit });
    const archive = archiver.archiveTenant(t.y1.id);
    await pausing.paused;
    const before = await waitingAdvisoryLocks();
    const create = plain.createTenant({ name: "under y1 while it is archived", parent_id: t.y1.id });
    const outcome = create.then(
      () => "created",
      (e: unknown) => (isStratumError(e, "TENANT_ARCHIVED") ? "refused" : e),
    );
    await vi.waitFor(async () => expect(await waitingAdvisoryLocks()).toBe(before + 1), { timeout: 10_000, interval: 20 });
    pausing.release();
    expect((await archive).status).toBe("archived");
    expect(await outcome).toBe("refused");
  });

  it("8 config and permission writers racing 8 movers of their tenants' ancestors: no write fails, no deadlock, every invariant holds (2 rounds, through $stratum)", async () => {
    const client = stratumTestClient(db);
    const $ = client.prisma.$stratum;
    try {
      for (let round = 0; round < 2; round++) {
        const nodes = await raceTree($, `writers ${round}`);
        const root = nodes[0]!;
        // One permission key per writer (so a writer knows which nodes it granted), all delegated by root.
        const keys = Array.from({ length: 8 }, (_, i) => `w${round}_${i}`);
        for (const key of keys) await $.createPermission(root.id, { key, value: 0, mode: "DELEGATED" });
        // Each writer sets a config key and re-grants (then updates) its permission on rotating
        // nodes while the moves run; a deadlock (40P01) or a stale chain's refusal fails the test.
        let moving = true;
        const writers = keys.map(async (key, i) => {
          const granted = new Set<string>();
          for (let n = 0; moving || n < 2; n++) {
            const node = nodes[1 + ((i * 5 + n * 3) % 12)]!;
            await $.setConfig(node.id, key, { value: n });
            if (granted.has(node.id)) await $.updatePermission(node.id, key, { value: n });
            else {
              await $.createPermission(node.id, { key, value: n, mode: "DELEGATED" });
              granted.add(node.id);
            }
          }
        });
        const moves = raceMovers($, nodes);
        await Promise.all(moves).finally(() => (moving = false));
        await Promise.all(writers);
        await assertTreeInvariants();
        // Every re-grant names a tenant that granted the key DELEGATED (root or another writer's node).
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM stratum_permissions p
            WHERE p.key = ANY($1::text[]) AND p.delegated_from IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM stratum_permissions d WHERE d.tenant_id = p.delegated_from AND d.key = p.key AND d.mode = 'DELEGATED')`,
          [keys],
        );
        expect(rows[0]!.n).toBe(0);
      }
    } finally {
      await client.close();
    }
  });

  it("16 creators racing 8 movers of their ancestors keep every invariant (3 rounds, through $stratum)", async () => {
    const client = stratumTestClient(db);
    const $ = client.prisma.$stratum;
    try {
      for (let round = 0; round < 3; round++) {
        const nodes = await raceTree($, `race ${round}`);
        const root = nodes[0]!;
        // Each creator keeps creating (under a rotating node) until the moves are done, so creates
        // are in flight during every move. Without the creates' path locks (lockPath made
        // a plain read) this round leaves about a dozen children on their parent's old path.
        let moving = true;
        const created: string[] = [];
        const creators = Array.from({ length: 16 }, async (_, i) => {
          for (let n = 0; moving || n < 2; n++) {
            const parent = nodes[1 + ((i * 5 + n * 3) % 12)]!;
            created.push((await $.createTenant({ name: `race ${round} new ${i} ${n}`, parent_id: parent.id })).id);
          }
        });
        const moves = raceMovers($, nodes);
        await Promise.all(moves).finally(() => (moving = false));
        await Promise.all(creators);
        await assertTreeInvariants();
        const { rows } = await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM stratum_tenants WHERE path <@ (SELECT path FROM stratum_tenants WHERE id = $1)",
          [root.id],
        );
        expect(rows[0]!.n).toBe(13 + created.length);
      }
    } finally {
      await client.close();
    }
  });
});

type Services = ReturnType<typeof stratumTestClient>["prisma"]["$stratum"];

/** A root and 12 tenants below it, two children each, breadth first: the tree the races move around in. */
async function raceTree($: Services, label: string): Promise<Tenant[]> {
  const nodes = [await $.createTenant({ name: `${label} root` })];
  for (let i = 0; i < 12; i++) nodes.push(await $.createTenant({ name: `${label} ${i}`, parent_id: nodes[Math.floor(i / 2)]!.id }));
  return nodes;
}

/** 8 movers, 3 moves each, of rotating non-root nodes under rotating targets; cycles and depth refusals are expected. */
function raceMovers($: Services, nodes: Tenant[]): Promise<unknown>[] {
  return Array.from({ length: 8 }, async (_, i) => {
    for (let n = 0; n < 3; n++) {
      await $.moveTenant(nodes[1 + ((i * 5 + n) % 12)]!.id, nodes[(i * 7 + n * 4 + 3) % 13]!.id).catch((e: unknown) => {
        if (isStratumError(e, "CYCLE_DETECTED") || isStratumError(e, "MAX_DEPTH_EXCEEDED")) return null;
        throw e;
      });
    }
  });
}
