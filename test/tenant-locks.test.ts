/**
 * Tree writes lock no wider than the change (src/tenants/tree-locks.ts): a create locks its
 * parent's chain, a move its subtree. A move is held open right after it took its locks (a Db that
 * pauses there), and what must proceed, proceeds; what must wait is seen waiting in pg_locks.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { pgDb, type Db } from "../src/core/db.js";
import { TREE_LOCK_KEY_SQL } from "../src/core/locks.js";
import { isStratumError } from "../src/index.js";
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
    await pausing.paused; // the move holds the tree lock and x1's subtree lock, uncommitted
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

  it("a create takes no tree-wide lock: it completes while the tree lock is held, when a move waits for it", async () => {
    const plain = createTenantService(pgDb(pool), { audit });
    const t = await smallTree(plain, "treelock");
    const holder = await admin.connect();
    try {
      await holder.query("BEGIN");
      await holder.query(`SELECT pg_advisory_xact_lock(${TREE_LOCK_KEY_SQL})`);
      // What every create took before: a move still takes it, and waits.
      const before = await waitingAdvisoryLocks();
      const move = plain.moveTenant(t.x1.id, t.xt.id);
      await vi.waitFor(async () => expect(await waitingAdvisoryLocks()).toBe(before + 1), { timeout: 10_000, interval: 20 });
      const created = await plain.createTenant({ name: "under y1 while the tree is locked", parent_id: t.y1.id });
      expect(created.parent_id).toBe(t.y1.id);
      await holder.query("COMMIT");
      expect((await move).parent_id).toBe(t.xt.id);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      holder.release();
    }
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

  it("16 creators racing 8 movers of their ancestors keep every invariant (3 rounds, through $stratum)", async () => {
    const client = stratumTestClient(db);
    const $ = client.prisma.$stratum;
    try {
      for (let round = 0; round < 3; round++) {
        const root = await $.createTenant({ name: `race root ${round}` });
        const nodes = [root];
        for (let i = 0; i < 12; i++) nodes.push(await $.createTenant({ name: `race ${round} ${i}`, parent_id: nodes[Math.floor(i / 2)]!.id }));
        // Each creator keeps creating (under a rotating node) until the moves are done, so creates
        // are in flight during every move. Without the creates' chain locks (lockParentChain made
        // a plain read) this round leaves about a dozen children on their parent's old path.
        let moving = true;
        const created: string[] = [];
        const creators = Array.from({ length: 16 }, async (_, i) => {
          for (let n = 0; moving || n < 2; n++) {
            const parent = nodes[1 + ((i * 5 + n * 3) % 12)]!;
            created.push((await $.createTenant({ name: `race ${round} new ${i} ${n}`, parent_id: parent.id })).id);
          }
        });
        const moves = Array.from({ length: 8 }, async (_, i) => {
          for (let n = 0; n < 3; n++) {
            await $.moveTenant(nodes[1 + ((i * 5 + n) % 12)]!.id, nodes[(i * 7 + n * 4 + 3) % 13]!.id).catch((e: unknown) => {
              if (isStratumError(e, "CYCLE_DETECTED") || isStratumError(e, "MAX_DEPTH_EXCEEDED")) return null;
              throw e;
            });
          }
        });
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
