/**
 * `setIsolation(tenantId, to)`: moves a tenant's rows between SHARED_RLS, SCHEMA and DATABASE.
 *
 *   started → provisioned → copied → flipped → cleaned (finished)
 *
 * The journal (stratum_isolation_moves) records each step. A failure before the flip rolls the
 * move back by itself; an interruption (a crash, or `interruptBefore` in drills) leaves the
 * journal open for `resumeIsolationMove` or `rollbackIsolationMove`.
 */
import type pg from "pg";
import { z } from "zod";
import { clientDb } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink, ChangeBus } from "../core/ports.js";
import { IsolationStrategies, type IsolationStrategyName } from "../core/types.js";
import { validate } from "../core/validate.js";
import { dependencyOrder, openHome, type HomeAddress } from "./homes.js";
import { assertSameCounts, closeHome, copyRows, deleteRows, flipRoute, type MoveContext } from "./move-steps.js";
import { placementSatisfies } from "./placement.js";
import type { IsolationRouter } from "./router.js";
import type { AdminAccess, IsolationStrategy, ProvisionContext, TenantRoute } from "./strategy.js";

export interface MoveDeps {
  admin: AdminAccess;
  strategies: Record<IsolationStrategyName, IsolationStrategy>;
  router: IsolationRouter;
  tenantTables: ReadonlyArray<{ table: string; tenantColumn: string }>;
  provisionContext(server?: string): ProvisionContext;
  sign(tenantId: string, mode: "m"): string;
  audit: AuditSink;
  bus?: ChangeBus;
}

const SetIsolationOptions = z
  .object({
    /**
     * DATABASE: the configured server to place the tenant's database on, or `tag:<tag>` for the
     * least loaded server with that tag (placement.ts). A DATABASE tenant given another server
     * moves there live: same journal, resume and rollback as a change of strategy.
     */
    server: z.string().min(1).optional(),
    batchSize: z.number().int().min(1).max(50_000).default(1000),
    /** Stops the move just before a step, as a crash would (recovery drills and tests). */
    interruptBefore: z.enum(["copy", "flip", "clean"]).optional(),
  })
  .strict();
export type SetIsolationOptions = z.input<typeof SetIsolationOptions>;

export interface MoveResult {
  tenant_id: string;
  moved: boolean;
  from: HomeAddress;
  to: HomeAddress;
  row_counts: Record<string, number>;
}

/** One row of stratum_isolation_moves. */
export interface IsolationMove {
  id: string;
  tenant_id: string;
  from_strategy: IsolationStrategyName;
  to_strategy: IsolationStrategyName;
  from_placement: string | null;
  to_placement: string | null;
  step: string;
  row_counts: Record<string, number>;
}

export function createIsolationMover(deps: MoveDeps) {
  async function withMain<T>(fn: (main: pg.Client) => Promise<T>): Promise<T> {
    const main = await deps.admin.main();
    try {
      return await fn(main);
    } finally {
      await main.end().catch(() => undefined);
    }
  }

  async function route(main: pg.Client, tenantId: string): Promise<TenantRoute> {
    const { rows } = await main.query("SELECT id, slug, status, isolation_strategy, placement FROM public.stratum_tenants WHERE id = $1::uuid", [tenantId]);
    const found = rows[0] as TenantRoute | undefined;
    if (!found) throw new StratumError("TENANT_NOT_FOUND", `Tenant ${tenantId} does not exist.`, { tenantId });
    return found;
  }

  async function openJournal(main: pg.Client, tenantId: string): Promise<IsolationMove | null> {
    const { rows } = await main.query(
      "SELECT * FROM public.stratum_isolation_moves WHERE tenant_id = $1::uuid AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1",
      [tenantId],
    );
    return (rows[0] as IsolationMove | undefined) ?? null;
  }

  async function setStep(
    main: pg.Client,
    journal: IsolationMove,
    step: string,
    extra: { row_counts?: Record<string, number>; to_placement?: string | null; error?: string; finished?: boolean } = {},
  ): Promise<void> {
    await main.query(
      `UPDATE public.stratum_isolation_moves SET step = $2, row_counts = coalesce($3::jsonb, row_counts), to_placement = CASE WHEN $4 THEN $5 ELSE to_placement END,
              error = $6, finished_at = CASE WHEN $7 THEN now() ELSE NULL END WHERE id = $1::uuid`,
      [
        journal.id,
        step,
        extra.row_counts ? JSON.stringify(extra.row_counts) : null,
        "to_placement" in extra,
        extra.to_placement ?? null,
        extra.error ?? null,
        !!extra.finished,
      ],
    );
    journal.step = step;
    if (extra.row_counts) journal.row_counts = extra.row_counts;
    if ("to_placement" in extra) journal.to_placement = extra.to_placement ?? null;
  }

  async function context(main: pg.Client, tenantId: string, batchSize: number): Promise<MoveContext> {
    return { admin: deps.admin, tenantId, token: deps.sign(tenantId, "m"), tables: await dependencyOrder(main, deps.tenantTables), batchSize };
  }

  const fromOf = (j: IsolationMove): HomeAddress => ({ strategy: j.from_strategy, placement: j.from_placement });
  const toOf = (j: IsolationMove): HomeAddress => ({ strategy: j.to_strategy, placement: j.to_placement });

  function interrupt(step: string, options: z.output<typeof SetIsolationOptions>, journal: IsolationMove): void {
    if (options.interruptBefore === step) {
      throw new StratumError(
        "ISOLATION_MOVE_FAILED",
        `Move of tenant ${journal.tenant_id} interrupted before "${step}" (at step ${journal.step}). Call resumeIsolationMove() or rollbackIsolationMove().`,
        { step: journal.step },
      );
    }
  }

  /** Runs the remaining steps of a journaled move. */
  async function proceed(main: pg.Client, journal: IsolationMove, tenant: TenantRoute, options: z.output<typeof SetIsolationOptions>): Promise<MoveResult> {
    const ctx = await context(main, tenant.id, options.batchSize);
    if (journal.step === "started") {
      const placement = await deps.strategies[journal.to_strategy].provision({ ...tenant, placement: null }, deps.provisionContext(options.server));
      await setStep(main, journal, "provisioned", { to_placement: placement });
    }
    if (journal.step === "provisioned" || journal.step === "copied") {
      interrupt("copy", options, journal);
      const { source, counts } = await copyRows(ctx, fromOf(journal), toOf(journal));
      try {
        await setStep(main, journal, "copied", { row_counts: counts });
        interrupt("flip", options, journal);
        await flipRoute({
          main,
          tenantId: tenant.id,
          from: fromOf(journal),
          to: toOf(journal),
          moveId: journal.id,
          audit: deps.audit,
          ...(deps.bus ? { bus: deps.bus } : {}),
        });
        journal.step = "flipped";
        deps.router.forget(tenant.id);
        interrupt("clean", options, journal);
        assertSameCounts(counts, await deleteRows(source, ctx), "removed from the old home");
        await closeHome(source, ctx.tables, deps.provisionContext().appRole);
        await source.client.query("COMMIT");
      } catch (error) {
        await source.client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        await source.close();
      }
    } else if (journal.step === "flipped") {
      interrupt("clean", options, journal);
      const source = await openHome(deps.admin, fromOf(journal));
      try {
        await source.begin(ctx.token);
        await deleteRows(source, ctx);
        await closeHome(source, ctx.tables, deps.provisionContext().appRole);
        await source.client.query("COMMIT");
      } finally {
        await source.close();
      }
    }
    await deps.strategies[journal.from_strategy].deprovision({ ...tenant, placement: journal.from_placement }, deps.provisionContext());
    await setStep(main, journal, "cleaned", { finished: true });
    return { tenant_id: tenant.id, moved: true, from: fromOf(journal), to: toOf(journal), row_counts: journal.row_counts };
  }

  /** Undoes a move that has not been cleaned up: route back to the old home, new copy removed. */
  async function undo(main: pg.Client, journal: IsolationMove, tenant: TenantRoute, reason: string): Promise<void> {
    if (journal.step === "flipped") {
      await flipRoute({
        main,
        tenantId: tenant.id,
        from: toOf(journal),
        to: fromOf(journal),
        moveId: journal.id,
        audit: deps.audit,
        ...(deps.bus ? { bus: deps.bus } : {}),
      });
      deps.router.forget(tenant.id);
    }
    if (journal.to_placement !== null || journal.to_strategy === "SHARED_RLS") {
      const ctx = await context(main, tenant.id, 1000);
      if (journal.to_strategy === "SHARED_RLS") {
        const target = await openHome(deps.admin, toOf(journal));
        try {
          await target.begin(ctx.token);
          await deleteRows(target, ctx);
          await target.client.query("COMMIT");
        } finally {
          await target.close();
        }
      } else {
        await deps.strategies[journal.to_strategy].deprovision({ ...tenant, placement: journal.to_placement }, deps.provisionContext());
      }
    }
    await setStep(main, journal, "rolled_back", { error: reason, finished: true });
  }

  async function setIsolation(tenantId: string, to: IsolationStrategyName, input: SetIsolationOptions = {}): Promise<MoveResult> {
    validate(z.enum(IsolationStrategies), to, "isolation strategy");
    const options = validate(SetIsolationOptions, input, "setIsolation options");
    return withMain(async (main) => {
      const tenant = await route(main, tenantId);
      if (tenant.status === "archived")
        throw new StratumError("TENANT_ARCHIVED", `Tenant ${tenantId} is archived; restore it before moving its data.`, { tenantId });
      const open = await openJournal(main, tenantId);
      if (open) {
        throw new StratumError(
          "ISOLATION_MOVE_IN_PROGRESS",
          `Tenant ${tenantId} has an unfinished move (step ${open.step}); call resumeIsolationMove() or rollbackIsolationMove() first.`,
          { tenantId, step: open.step },
        );
      }
      const here: HomeAddress = { strategy: tenant.isolation_strategy, placement: tenant.placement };
      const sameServer = placementSatisfies(tenant.placement, options.server, deps.admin.placement?.() ?? {});
      if (tenant.isolation_strategy === to && sameServer) return { tenant_id: tenantId, moved: false, from: here, to: here, row_counts: {} };
      const { rows } = await main.query(
        `INSERT INTO public.stratum_isolation_moves (id, tenant_id, from_strategy, to_strategy, from_placement, to_placement, step)
         VALUES (gen_random_uuid(), $1::uuid, $2, $3, $4, NULL, 'started') RETURNING *`,
        [tenantId, tenant.isolation_strategy, to, tenant.placement],
      );
      const journal = rows[0] as IsolationMove;
      deps.router.freeze(tenantId);
      try {
        return await proceed(main, journal, tenant, options);
      } catch (error) {
        if (options.interruptBefore) throw error;
        if (journal.step !== "flipped") await undo(main, journal, tenant, (error as Error).message).catch(() => undefined);
        else await setStep(main, journal, journal.step, { error: (error as Error).message });
        throw error instanceof StratumError
          ? error
          : new StratumError("ISOLATION_MOVE_FAILED", `Moving tenant ${tenantId} to ${to} failed: ${(error as Error).message}`, { tenantId }, { cause: error });
      } finally {
        deps.router.thaw(tenantId);
      }
    });
  }

  async function resumeIsolationMove(tenantId: string, input: SetIsolationOptions = {}): Promise<MoveResult> {
    const options = validate(SetIsolationOptions, input, "resume options");
    return withMain(async (main) => {
      const journal = await openJournal(main, tenantId);
      if (!journal) throw new StratumError("NOT_FOUND", `Tenant ${tenantId} has no unfinished isolation move.`, { tenantId });
      const tenant = await route(main, tenantId);
      deps.router.freeze(tenantId);
      try {
        return await proceed(main, journal, tenant, options);
      } finally {
        deps.router.thaw(tenantId);
      }
    });
  }

  async function rollbackIsolationMove(tenantId: string): Promise<{ tenant_id: string; rolled_back: boolean }> {
    return withMain(async (main) => {
      const journal = await openJournal(main, tenantId);
      if (!journal) throw new StratumError("NOT_FOUND", `Tenant ${tenantId} has no unfinished isolation move.`, { tenantId });
      await undo(main, journal, await route(main, tenantId), "rolled back on request");
      return { tenant_id: tenantId, rolled_back: true };
    });
  }

  async function listIsolationMoves(tenantId: string): Promise<IsolationMove[]> {
    return withMain(async (main) => {
      const db = clientDb(main);
      return db.query<IsolationMove>("SELECT * FROM public.stratum_isolation_moves WHERE tenant_id = $1::uuid ORDER BY started_at", [tenantId]);
    });
  }

  return { setIsolation, resumeIsolationMove, rollbackIsolationMove, listIsolationMoves };
}
