/**
 * Tree helpers shared by the config, permission and ABAC services: the advisory lock a mutation
 * takes, and the SQL fragment that lists a tenant's ancestors from its ltree path in one pass.
 */
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { TREE_LOCK_KEY_SQL } from "../core/locks.js";
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

/**
 * Locks for a mutation on `tenantId`: shared on the tree (moves wait, and are waited for),
 * exclusive on the tenant, shared on each ancestor (root first),
 * so a write below waits for a write above (a key being locked) and siblings do not block each
 * other. Keys are `hashtextextended(<tenant uuid text>, 0)`, the same key the tenants service uses
 * for its exclusive lock. Refuses unknown and archived tenants.
 */
export async function lockTenant(tx: Db, tenantId: string): Promise<TenantRow> {
  // Shared on the tree first: the ancestors read below stay this tenant's until commit.
  await tx.execute(`SELECT pg_advisory_xact_lock_shared(${TREE_LOCK_KEY_SQL})`);
  const rows = await tx.query<{ id: string; slug: string; name: string; status: string; labels: string[] }>(
    `SELECT t.id::text AS id, t.slug, t.name, t.status,
            ARRAY(SELECT replace(ltree2text(subpath(t.path, g.i, 1)), '_', '-')
                    FROM generate_series(0, nlevel(t.path) - 2) AS g(i) ORDER BY g.i) AS labels
       FROM public.stratum_tenants t WHERE t.id = $1::uuid`,
    [tenantId],
  );
  const row = rows[0];
  if (!row) throw tenantNotFound(tenantId);
  await tx.execute(
    `SELECT pg_advisory_xact_lock_shared(hashtextextended(a.id, 0))
       FROM unnest($1::text[]) WITH ORDINALITY AS a(id, n) ORDER BY a.n`,
    [row.labels],
  );
  await tx.execute(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, [tenantId]);
  // Re-read after the lock: a concurrent archive may have committed meanwhile.
  const fresh = await tx.query<{ status: string }>(`SELECT status FROM public.stratum_tenants WHERE id = $1::uuid`, [tenantId]);
  const status = fresh[0]?.status;
  if (!status) throw tenantNotFound(tenantId);
  if (status === "archived") {
    throw new StratumError("TENANT_ARCHIVED", `Tenant ${row.slug} (${tenantId}) is archived; restore it before changing its config or permissions.`, {
      tenantId,
    });
  }
  return { id: row.id, slug: row.slug, name: row.name, status, ancestors: row.labels };
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
