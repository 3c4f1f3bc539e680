/**
 * Migrations reach schema and database tenants by synchronisation, not replay: after the main
 * database is migrated, every tenant home is compared with the template (the main database's
 * public tenant tables) and brought level — missing tables, columns, constraints and indexes
 * added, RLS and grants re-applied. Homes already level with the template are skipped after one
 * catalog check; the fleet machinery (lanes per server, markers, dry run) is in src/migrate/fleet.ts.
 */
import { type FleetDeps, type FleetOptions, type FleetReport, migrateFleet } from "../migrate/fleet.js";

export type { FleetPlan, FleetReport, HomeProgress, HomeReport, HomeStatus } from "../migrate/fleet.js";
export type FanOutDeps = FleetDeps;
export type FanOutOptions = FleetOptions;

export function migrateTenantHomes(deps: FanOutDeps, input: FanOutOptions = {}): Promise<FleetReport> {
  return migrateFleet(deps, input);
}
