/**
 * The steps of an isolation move. Each leaves the tenant in a state the journal can name, so a
 * crash between any two is resumed or rolled back without losing a row or showing one twice:
 * the route points at exactly one home at every moment, and the old home is emptied only after
 * the route has flipped.
 */
import type pg from "pg";
import { ident } from "../sql/security.js";
import { clientDb } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink, ChangeBus } from "../core/ports.js";
import { countRows, openHome, type Home, type HomeAddress, type TenantTableRef } from "./homes.js";
import type { AdminAccess } from "./strategy.js";

export interface MoveContext {
  admin: AdminAccess;
  tenantId: string;
  /** Signed move-scope token of the tenant (mode `m`). */
  token: string;
  /** Tenant tables, referenced tables first. */
  tables: readonly TenantTableRef[];
  batchSize: number;
}

/**
 * Copies the tenant's rows from `from` to `to` while holding a write lock on the source tables,
 * and returns the still-open source transaction: the caller flips the route, then deletes the
 * source rows in it, so no write can land in the old home between copy and cleanup.
 */
export async function copyRows(ctx: MoveContext, from: HomeAddress, to: HomeAddress): Promise<{ source: Home; counts: Record<string, number> }> {
  const source = await openHome(ctx.admin, from);
  try {
    await source.begin(ctx.token);
    // Writers wait (not fail) until the move commits; readers go on. On shared tables this pauses
    // every tenant's writes to them for the length of the copy.
    await source.client.query(`LOCK TABLE ${ctx.tables.map((t) => source.qualified(t.table)).join(", ")} IN EXCLUSIVE MODE`);
    const counts = await countRows(source, ctx.tables, ctx.tenantId);
    const target = await openHome(ctx.admin, to);
    try {
      await target.begin(ctx.token);
      await deleteRows(target, ctx); // a resumed move starts from an empty target
      for (const t of ctx.tables) await copyTable(source, target, t, ctx);
      const copied = await countRows(target, ctx.tables, ctx.tenantId);
      assertSameCounts(counts, copied, "copied");
      for (const t of ctx.tables) await advanceSequences(target, t, ctx.tenantId);
      await target.client.query("COMMIT");
    } catch (error) {
      await target.client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      await target.close();
    }
    return { source, counts };
  } catch (error) {
    await source.client.query("ROLLBACK").catch(() => undefined);
    await source.close();
    throw error;
  }
}

async function copyTable(source: Home, target: Home, t: TenantTableRef, ctx: MoveContext): Promise<void> {
  // JSON keeps every value exact (microsecond timestamps, numerics, bytea) across databases.
  await source.client.query(
    `DECLARE stratum_move NO SCROLL CURSOR FOR SELECT row_to_json(r)::text AS row FROM ${source.qualified(t.table)} r WHERE ${ident(t.tenantColumn)} = $1::uuid`,
    [ctx.tenantId],
  );
  try {
    for (;;) {
      const { rows } = await source.client.query(`FETCH ${ctx.batchSize} FROM stratum_move`);
      if (rows.length === 0) break;
      const batch = `[${(rows as Array<{ row: string }>).map((r) => r.row).join(",")}]`;
      await target.client
        .query(`INSERT INTO ${target.qualified(t.table)} SELECT * FROM json_populate_recordset(NULL::${target.qualified(t.table)}, $1::json)`, [batch])
        .catch((error: unknown) => {
          throw keyCollision(error, t.table) ?? error;
        });
    }
  } finally {
    await source.client.query("CLOSE stratum_move");
  }
}

/**
 * A unique key of the tenant's rows already taken in the target home: a key drawn from a sequence
 * of another home (a tenant database's own counter) can equal one drawn here. Nothing switches.
 */
function keyCollision(error: unknown, table: string): StratumError | undefined {
  if ((error as { code?: string }).code !== "23505") return undefined;
  return new StratumError(
    "ISOLATION_MOVE_FAILED",
    `Rows of ${table} have keys that other rows already use in the target home (${(error as Error).message}). Keys drawn from a sequence are ` +
      "unique only within the database that drew them; give the table a key that includes the tenant column, or a uuid key, to move this tenant. Nothing was switched.",
    { table },
    { cause: error },
  );
}

/**
 * Advances every sequence that fills a column of `t` in the target past the tenant's copied rows,
 * so the next insert there does not draw a key the move just wrote. The tenant's rows are all
 * this scope sees, and every other row's key came from the same sequence, so their maximum is enough.
 */
async function advanceSequences(target: Home, t: TenantTableRef, tenantId: string): Promise<void> {
  const { rows } = await target.client.query(
    `SELECT a.attname AS column_name,
            coalesce(pg_get_serial_sequence($1, a.attname), (regexp_match(pg_get_expr(d.adbin, d.adrelid), 'nextval\\(''([^'']+)''::regclass'))[1]) AS seq
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [target.qualified(t.table)],
  );
  for (const r of rows as Array<{ column_name: string; seq: string | null }>) {
    if (!r.seq) continue;
    await target.client.query(
      `SELECT setval($1::regclass, x.m) FROM (SELECT max(${ident(r.column_name)})::bigint AS m FROM ${target.qualified(t.table)} WHERE ${ident(t.tenantColumn)} = $2::uuid) x
        WHERE x.m IS NOT NULL AND x.m > coalesce(pg_sequence_last_value($1::regclass), 0)`,
      [r.seq, tenantId],
    );
  }
}

/**
 * Closes the old home to the app role in the transaction that empties it: a statement that still
 * addresses it (a route resolved before the flip, here or in another process) fails with
 * "permission denied" and is re-run in the new home (route-guard.ts) instead of finding nothing or
 * writing where the tenant no longer reads. The shared tables stay open to every other tenant;
 * there the shared-home policy refuses stale inserts and an emptied home reads as suspicious.
 */
export async function closeHome(home: Home, tables: readonly TenantTableRef[], appRole: string): Promise<void> {
  if (home.address.strategy === "SHARED_RLS") return;
  await home.client.query(`REVOKE ALL ON ${tables.map((t) => home.qualified(t.table)).join(", ")} FROM ${ident(appRole)}`);
  if (home.address.strategy === "SCHEMA") await home.client.query(`REVOKE USAGE ON SCHEMA ${ident(home.schema)} FROM ${ident(appRole)}`);
}

/** Deletes the tenant's rows from a home inside its open transaction; returns per-table counts. */
export async function deleteRows(home: Home, ctx: MoveContext): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  for (const t of [...ctx.tables].reverse()) {
    const result = await home.client.query(`DELETE FROM ${home.qualified(t.table)} WHERE ${ident(t.tenantColumn)} = $1::uuid`, [ctx.tenantId]);
    deleted[t.table] = result.rowCount ?? 0;
  }
  return deleted;
}

export function assertSameCounts(expected: Record<string, number>, actual: Record<string, number>, what: string): void {
  for (const [table, n] of Object.entries(expected)) {
    if (actual[table] !== n) {
      throw new StratumError(
        "ISOLATION_MOVE_FAILED",
        `Row counts differ after the rows were ${what}: ${table} had ${n}, now ${actual[table] ?? 0}. Nothing was switched; retry the move.`,
        { expected, actual },
      );
    }
  }
}

export interface FlipContext {
  main: pg.Client;
  tenantId: string;
  to: HomeAddress;
  from: HomeAddress;
  moveId: string;
  audit: AuditSink;
  bus?: ChangeBus;
}

/** Points the tenant's route at its new home, in one transaction with the audit row and the event. */
export async function flipRoute(ctx: FlipContext): Promise<void> {
  await ctx.main.query("BEGIN");
  try {
    const db = clientDb(ctx.main);
    await db.execute(`UPDATE public.stratum_tenants SET isolation_strategy = $2, placement = $3, updated_at = now() WHERE id = $1::uuid`, [
      ctx.tenantId,
      ctx.to.strategy,
      ctx.to.placement,
    ]);
    await db.execute(`UPDATE public.stratum_isolation_moves SET step = 'flipped' WHERE id = $1::uuid`, [ctx.moveId]);
    await ctx.audit.record(db, {
      tenantId: ctx.tenantId,
      action: "isolation.move",
      targetType: "tenant",
      targetId: ctx.tenantId,
      before: ctx.from,
      after: ctx.to,
    });
    await ctx.bus?.publish(db, { kind: "isolation", tenantId: ctx.tenantId, subtree: false });
    await ctx.main.query("COMMIT");
  } catch (error) {
    await ctx.main.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
