/**
 * Where a new DATABASE tenant's database goes (createTenant, and setIsolation to DATABASE):
 *
 *  - `server: "eu2"`    — that configured server;
 *  - `server: "tag:eu"` — one of the servers tagged "eu" (`admin.placement.tags`), the least loaded;
 *  - no server          — `admin.placement.policy`: "first" (the first configured server, the
 *                         default and the behaviour before policies existed) or "least-loaded".
 *
 * Load is the number of DATABASE tenants a server holds, counted from the tenants table (plus the
 * moves under way towards it), ties going to the server listed first. The count is read without
 * a lock (creates lock only their parent's path): creates or moves at the same instant may pick
 * the same server, so "least-loaded" evens servers out over many creates, not exactly per create.
 */
import type pg from "pg";
import { StratumError } from "../core/errors.js";
import type { AdminAccess } from "./strategy.js";

export interface PlacementOptions {
  /** Server for a DATABASE tenant that names none. Default "first". */
  policy?: "first" | "least-loaded";
  /** Tags per server name, e.g. `{ eu1: ["eu"], us1: ["us"] }`; a tenant asks with `server: "tag:eu"`. */
  tags?: Record<string, readonly string[]>;
}

export const TAG_PREFIX = "tag:";

/** Count of DATABASE tenants per server: placed ones and those a move is bringing there. */
const LOAD_SQL = `
  SELECT split_part(placement, '/', 1) AS server, count(*)::int AS tenants
    FROM public.stratum_tenants WHERE isolation_strategy = 'DATABASE' AND placement IS NOT NULL GROUP BY 1
  UNION ALL
  SELECT split_part(to_placement, '/', 1), count(*)::int
    FROM public.stratum_isolation_moves WHERE finished_at IS NULL AND to_strategy = 'DATABASE' AND to_placement IS NOT NULL GROUP BY 1`;

/** DATABASE tenants per configured server (0 for a server holding none). */
export async function serverLoads(admin: AdminAccess): Promise<Map<string, number>> {
  const loads = new Map(admin.servers().map((s) => [s, 0]));
  const main: pg.Client = await admin.main();
  try {
    const { rows } = await main.query(LOAD_SQL);
    for (const r of rows as Array<{ server: string; tenants: number }>) {
      if (loads.has(r.server)) loads.set(r.server, loads.get(r.server)! + r.tenants);
    }
  } finally {
    await main.end().catch(() => undefined);
  }
  return loads;
}

/** The server a new DATABASE home goes to, for the `server` a caller asked for (or none). */
export async function chooseServer(admin: AdminAccess, requested: string | undefined): Promise<string> {
  const servers = admin.servers();
  const options = admin.placement?.() ?? {};
  if (servers.length === 0) {
    throw new StratumError("PLACEMENT_UNKNOWN", "DATABASE isolation needs an admin server: stratum({ admin: { servers: { main: url } } }).");
  }
  if (requested !== undefined && !requested.startsWith(TAG_PREFIX)) {
    if (!servers.includes(requested)) {
      throw new StratumError(
        "PLACEMENT_UNKNOWN",
        `No server named "${requested}" is configured. Add it to stratum({ admin: { servers: { ${requested}: url } } }) and stratumAdapter({ servers }), or pick one of: ${servers.join(", ")}.`,
        { server: requested, servers },
      );
    }
    return requested;
  }
  const candidates = requested === undefined ? servers : tagged(servers, options, requested.slice(TAG_PREFIX.length));
  if (requested === undefined && (options.policy ?? "first") === "first") return candidates[0]!;
  return leastLoaded(candidates, await serverLoads(admin));
}

function tagged(servers: readonly string[], options: PlacementOptions, tag: string): string[] {
  const found = servers.filter((s) => options.tags?.[s]?.includes(tag));
  if (found.length === 0) {
    const known = [...new Set(Object.values(options.tags ?? {}).flat())].sort();
    throw new StratumError(
      "PLACEMENT_UNKNOWN",
      `No configured server is tagged "${tag}". Tag servers in stratum({ admin: { placement: { tags: { <server>: ["${tag}"] } } } })${known.length ? `; tags in use: ${known.join(", ")}` : ""}.`,
      { tag, tags: known },
    );
  }
  return found;
}

/** The candidate with the fewest tenants; the first listed wins a tie. */
export function leastLoaded(candidates: readonly string[], loads: ReadonlyMap<string, number>): string {
  let best = candidates[0]!;
  for (const s of candidates) if ((loads.get(s) ?? 0) < (loads.get(best) ?? 0)) best = s;
  return best;
}

/** Whether a tenant placed at `placement` already satisfies a request for `requested`. */
export function placementSatisfies(placement: string | null, requested: string | undefined, options: PlacementOptions): boolean {
  if (!placement || requested === undefined) return true;
  const server = placement.slice(0, Math.max(0, placement.indexOf("/")));
  if (requested.startsWith(TAG_PREFIX)) return options.tags?.[server]?.includes(requested.slice(TAG_PREFIX.length)) ?? false;
  return server === requested;
}
