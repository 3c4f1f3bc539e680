/**
 * The steps of an isolation move. Each leaves the tenant in a state the journal can name, so a
 * crash between any two is resumed or rolled back without losing a row or showing one twice:
 * the route points at exactly one home at every moment, and the old home is emptied only after
 * the route has flipped.
 */
import type pg from "pg";
import { ident } from "../../generators/sql/security.js";
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
      await target.client.query(
        `INSERT INTO ${target.qualified(t.table)} SELECT * FROM json_populate_recordset(NULL::${target.qualified(t.table)}, $1::json)`,
        [batch],
      );
    }
  } finally {
    await source.client.query("CLOSE stratum_move");
  }
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
