/**
 * Tree helpers shared by the config, permission and ABAC services: the advisory locks a mutation
 * takes, and the SQL fragment that lists a tenant's ancestors from its ltree path in one pass.
 */
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { configLockKeySql, pathLabelsSql } from "../core/locks.js";
import { LOCKED_PATH_SQL, notePathLocks } from "../tenants/tree-locks.js";
import { z } from "zod";
import type { ResolveCache } from "./cache.js";

/** A config or permission key: what both resolvers accept. */
export const KeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/, "letters, digits and _ . : / - (not starting with a symbol)");

/**
 * CTEs `target(id, path, status)`, `chain(id, depth)` (root first, self last, from the path's
 * labels) and `live(id, depth)` (the chain minus archived ancestors; the target itself always
 * stays). `$1` must be the tenant id. Primary-key lookups per label, so the cost follows the depth,
 * never the size of the tenant table.
 */
export const CHAIN_CTES = `
target AS (
  SELECT t.id, t.path, t.status FROM public.stratum_tenants t WHERE t.id = $1::uuid
),
chain AS (
  SELECT replace(ltree2text(subpath(target.path, g.i, 1)), '_', '-')::uuid AS id, g.i AS depth
    FROM target, generate_series(0, nlevel(target.path) - 1) AS g(i)
   LIMIT 64 -- never reached (depth <= 20); tells the planner the chain is short, so it probes
            -- the (tenant_id, key) indexes instead of hashing whole config/permission tables
),
live AS (
  SELECT c.id, c.depth FROM chain c JOIN public.stratum_tenants t ON t.id = c.id
   WHERE t.status <> 'archived' OR t.id = $1::uuid
)`;

export interface TenantRow {
  id: string;
  slug: string;
  name: string;
  status: string;
  /** Ancestor ids, root first, excluding the tenant itself. */
  ancestors: string[];
}

// After notePathLocks (the subtree lock of every tenant on the path, root to itself, shared, in key
// order: no move, archive or delete of the tenant or an ancestor can commit until this write does;
// the path it read noted, as a create's): the tenant's row and, with its path still the one noted
// (else no lock: the caller locks the new path), the config locks, shared on the ancestors and
// exclusive on the tenant, root first. The status is read after the subtree locks, so an archive
// cannot commit between it and this write's commit.
const LOCK_CONFIG = `SELECT t.id::text AS id, t.slug, t.name, t.path::text AS path, t.status, t.path::text = ${LOCKED_PATH_SQL} AS same,
       (SELECT count(CASE WHEN l.i = nlevel(t.path) - 1 THEN pg_advisory_xact_lock(${configLockKeySql("l.id")})
                          ELSE pg_advisory_xact_lock_shared(${configLockKeySql("l.id")}) END)::int
          FROM (${pathLabelsSql("t.path")} ORDER BY g.i OFFSET 0) l WHERE t.path::text = ${LOCKED_PATH_SQL}) AS locked
  FROM public.stratum_tenants t WHERE t.id = $1::uuid`;

/**
 * Locks for a mutation on `tenantId` (core/locks.ts): the subtree locks of its path, shared (moves,
 * archives and deletes of it and its ancestors wait, and are waited for), then the config locks,
 * shared on each ancestor and exclusive on the tenant, so a write below waits for a write above (a
 * key being locked) and siblings do not block each other. Refuses unknown and archived tenants.
 * On the driver both lock statements travel in one round trip.
 */
export async function lockTenant(tx: Db, tenantId: string): Promise<TenantRow> {
  // Each pass that finds the path changed follows a move of an ancestor that committed while the
  // locks were awaited; once locked, the path stays. The stale path's locks stay held, shared
  // (safe to lock again in the same transaction: src/tenants/tree-locks.ts).
  for (;;) {
    await notePathLocks(tx, tenantId);
    const [row] = await tx.query<{ id: string; slug: string; name: string; path: string; status: string; same: boolean }>(LOCK_CONFIG, [tenantId], {
      name: "stratum_config_lock",
    });
    if (!row) throw tenantNotFound(tenantId);
    if (!row.same) continue;
    if (row.status === "archived") {
      throw new StratumError("TENANT_ARCHIVED", `Tenant ${row.slug} (${tenantId}) is archived; restore it before changing its config or permissions.`, {
        tenantId,
      });
    }
    const labels = row.path.replace(/_/g, "-").split(".");
    return { id: row.id, slug: row.slug, name: row.name, status: row.status, ancestors: labels.slice(0, -1) };
  }
}

export function tenantNotFound(tenantId: string): StratumError {
  return new StratumError("TENANT_NOT_FOUND", `No tenant with id ${tenantId}. Check the id or create the tenant first.`, {
    tenantId,
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Refuses a malformed id before it reaches SQL (a bad uuid would otherwise be a driver error). */
export function assertTenantId(tenantId: unknown): asserts tenantId is string {
  if (typeof tenantId !== "string" || !UUID.test(tenantId)) {
    throw new StratumError("VALIDATION_FAILED", `Invalid tenant id ${JSON.stringify(tenantId)}: expected a uuid.`, {
      tenantId,
    });
  }
}

/**
 * One resolve: the cached result for the tenant, or the resolving statement (one, at any depth)
 * turned into a result and cached under the tenant's ancestor chain, so a write anywhere up the
 * chain invalidates it. Shared by config and permissions.
 */
export async function resolveThroughCache<E, R>(
  db: Db,
  cache: ResolveCache | null,
  cacheKey: string,
  sql: string,
  tenantId: string,
  build: (entries: E[], chain: string[]) => R,
): Promise<R> {
  assertTenantId(tenantId);
  if (cache) {
    const hit = cache.get<R>(cacheKey);
    if (hit) return hit;
  }
  const generation = cache?.generation ?? 0;
  const rows = await db.query<{ chain: string[] | null; entries: E[] }>(sql, [tenantId]);
  const row = rows[0];
  if (!row || !row.chain) throw tenantNotFound(tenantId);
  const result = build(row.entries, row.chain);
  cache?.set(cacheKey, result, row.chain, generation);
  return result;
}
