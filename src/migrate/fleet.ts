/**
 * Fleet migrations: after the main database is migrated, every SCHEMA and DATABASE home is
 * brought level with it (the template: the main database's `public` tenant tables). Homes are
 * synchronised, not replayed (fleet-home.ts); a home already level with the template — its marker
 * holds the template's fingerprint (fleet-catalog.ts) — is skipped without being opened, so a run
 * over a current fleet costs a few catalog queries whatever the number of homes.
 *
 * Homes run in lanes: the SCHEMA homes share one lane on the main database, each server's DATABASE
 * homes another, and no lane holds more than `concurrency` connections (plus one catalog
 * connection to the main database for the run). A failing home is reported and the others go on.
 * A killed run resumes by running again: each home's migration and marker commit together.
 * One run at a time per main database (an advisory lock; a second run waits, then finds the work done).
 */
import { performance } from "node:perf_hooks";
import type pg from "pg";
import { z } from "zod";
import { validate } from "../core/validate.js";
import {
  type FleetDeps,
  type FleetHome,
  type FleetTemplate,
  type HomeMarker,
  type HomeStrategy,
  listHomes,
  readMarkers,
  readTemplate,
} from "./fleet-catalog.js";
import { syncHome } from "./fleet-home.js";

export type { FleetDeps, FleetHome, HomeMarker, HomeStrategy } from "./fleet-catalog.js";

const FleetOptionsSchema = z
  .object({
    /** Homes migrated at once per lane (the main database's SCHEMA homes; each server's DATABASE homes). */
    concurrency: z.number().int().min(1).max(32).default(4),
    /** Only these tenants (default: every SCHEMA and DATABASE tenant). */
    tenantIds: z.array(z.string().uuid()).optional(),
    /**
     * Open and check every home, whatever its marker says (finds hand-made changes, such as a
     * dropped constraint). Default: only when `tenantIds` names homes.
     */
    verify: z.boolean().optional(),
    /** Read and plan only: nothing is written, no marker changes. */
    dryRun: z.boolean().default(false),
    /** How long a home's DDL waits for a table lock before that home fails (it is retried next run). */
    lockTimeoutMs: z.number().int().min(0).max(600_000).default(10_000),
  })
  .strict();

export type HomeStatus = "current" | "migrated" | "planned" | "failed" | "pending";

export interface FleetPlan {
  /** Homes considered. */
  total: number;
  /** Homes whose marker matches the template: not opened. */
  current: number;
  /** Homes this run opens (migrates, or plans in a dry run). */
  toRun: number;
  dryRun: boolean;
  migration: string | null;
}

export interface HomeProgress {
  /** Homes finished among `total` (those this run opens). */
  done: number;
  total: number;
  tenant_id: string;
  strategy: HomeStrategy;
  placement: string;
  status: HomeStatus;
  ms: number;
  error?: string;
}

export type FleetOptions = z.input<typeof FleetOptionsSchema> & {
  /** Called once, after the catalog check and before any home is opened. */
  onPlan?: (plan: FleetPlan) => void;
  /** Called as each home this run opens finishes (in completion order). */
  onProgress?: (progress: HomeProgress) => void;
  /** Stops taking new homes (those in flight finish); the rest are reported `pending`. */
  signal?: AbortSignal;
};

export interface HomeReport {
  tenant_id: string;
  strategy: HomeStrategy;
  placement: string;
  status: HomeStatus;
  /** Schema changes applied to this home by this run. */
  applied: string[];
  /** In a dry run: the schema changes a run would apply (RLS, grants and the marker come on top). */
  planned?: string[];
  drift: string[];
  /** The home's marker before this run (null: never marked, or unreadable). */
  marker: HomeMarker | null;
  ms?: number;
  error?: string;
}

export interface FleetReport {
  ok: boolean;
  dryRun: boolean;
  /** One entry per home, in tenant creation order. */
  homes: HomeReport[];
  summary: Record<HomeStatus, number> & { total: number };
  /** The template's fingerprint per strategy: what a current home's marker holds. */
  fingerprint: Record<HomeStrategy, string>;
  migration: string | null;
  ms: number;
}

/** Serialises fleet runs on one main database (the key is stratum's own, not Prisma's). */
const FLEET_LOCK_SQL = "SELECT pg_advisory_lock(hashtext('stratum.fleet_migrations'))";

export async function migrateFleet(deps: FleetDeps, input: FleetOptions = {}): Promise<FleetReport> {
  const { onPlan, onProgress, signal, ...rest } = input;
  const options = validate(FleetOptionsSchema, rest, "fleet migration options");
  const verify = options.verify ?? options.tenantIds !== undefined;
  const started = performance.now();
  const main = await deps.admin.main();
  try {
    if (!options.dryRun) await main.query(FLEET_LOCK_SQL);
    const homes = await listHomes(main, options.tenantIds);
    const template = await readTemplate(main, deps);
    const { markers, unreachable } = await readMarkers(main, deps.admin, homes);
    const reports = new Map<string, HomeReport>();
    const toRun: FleetHome[] = [];
    for (const home of homes) {
      const marker = markers.get(home.tenant_id) ?? null;
      const current = !verify && marker?.fingerprint === template.fingerprint[home.strategy];
      reports.set(home.tenant_id, {
        tenant_id: home.tenant_id,
        strategy: home.strategy,
        placement: home.placement,
        status: current ? "current" : "pending",
        applied: [],
        drift: [],
        marker,
      });
      if (!current) toRun.push(home);
    }
    onPlan?.({ total: homes.length, current: homes.length - toRun.length, toRun: toRun.length, dryRun: options.dryRun, migration: template.migration });
    let done = 0;
    const finish = (home: FleetHome, update: Partial<HomeReport>) => {
      const report = Object.assign(reports.get(home.tenant_id)!, update);
      done++;
      onProgress?.({
        done,
        total: toRun.length,
        tenant_id: home.tenant_id,
        strategy: home.strategy,
        placement: home.placement,
        status: report.status,
        ms: report.ms ?? 0,
        ...(report.error ? { error: report.error } : {}),
      });
    };
    const run = (home: FleetHome, slot: LaneSlot) => runHome(deps, template, options, home, slot, unreachable);
    await Promise.all(
      [...lanes(toRun).values()].map((lane) => runLane(lane, options.concurrency, async (home, slot) => finish(home, await run(home, slot)), signal)),
    );
    return fleetReport([...reports.values()], options.dryRun, template, performance.now() - started);
  } finally {
    await main.end().catch(() => undefined); // also releases the advisory lock
  }
}

/** The SCHEMA homes (one lane: the main database) and each server's DATABASE homes. */
function lanes(homes: readonly FleetHome[]): Map<string, FleetHome[]> {
  const byLane = new Map<string, FleetHome[]>();
  for (const home of homes) {
    const lane = home.strategy === "SCHEMA" ? "main database" : `server ${home.server}`;
    byLane.set(lane, [...(byLane.get(lane) ?? []), home]);
  }
  return byLane;
}

/** A lane worker's state: the main-database connection SCHEMA homes reuse one after another. */
interface LaneSlot {
  client?: pg.Client;
}

async function runLane(
  homes: readonly FleetHome[],
  slots: number,
  run: (home: FleetHome, slot: LaneSlot) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(slots, homes.length) }, async () => {
      const slot: LaneSlot = {};
      try {
        while (next < homes.length && !signal?.aborted) await run(homes[next++]!, slot);
      } finally {
        await slot.client?.end().catch(() => undefined);
      }
    }),
  );
}

type RunOptions = z.output<typeof FleetOptionsSchema>;

async function runHome(
  deps: FleetDeps,
  template: FleetTemplate,
  options: RunOptions,
  home: FleetHome,
  slot: LaneSlot,
  unreachable: ReadonlyMap<string, string>,
): Promise<Partial<HomeReport>> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  const down = home.server !== null ? unreachable.get(home.server) : undefined;
  if (down !== undefined) return { status: "failed", error: `server ${home.server} could not be read: ${down}`, ms: elapsed() };
  let client: pg.Client | undefined;
  try {
    if (home.strategy === "SCHEMA") {
      slot.client ??= await deps.admin.main();
      client = slot.client;
    } else {
      client = await deps.admin.database(home.placement);
    }
    const sync = await syncHome(client, home, template, deps, { dryRun: options.dryRun, lockTimeoutMs: options.lockTimeoutMs });
    return options.dryRun
      ? { status: "planned", planned: sync.statements, drift: sync.drift, ms: elapsed() }
      : { status: "migrated", applied: sync.statements, drift: sync.drift, ms: elapsed() };
  } catch (error) {
    // The connection may be what failed: the lane's next home gets a fresh one.
    if (home.strategy === "SCHEMA" && slot.client) {
      await slot.client.end().catch(() => undefined);
      delete slot.client;
    }
    return { status: "failed", error: (error as Error).message, ms: elapsed() };
  } finally {
    if (home.strategy === "DATABASE") await client?.end().catch(() => undefined);
  }
}

function fleetReport(homes: HomeReport[], dryRun: boolean, template: FleetTemplate, ms: number): FleetReport {
  const summary = { total: homes.length, current: 0, migrated: 0, planned: 0, failed: 0, pending: 0 };
  for (const h of homes) summary[h.status]++;
  return {
    ok: summary.failed === 0 && summary.pending === 0,
    dryRun,
    homes,
    summary,
    fingerprint: template.fingerprint,
    migration: template.migration,
    ms: Math.round(ms),
  };
}
