/**
 * Prisma Accelerate (`@prisma/extension-accelerate`) and Prisma Postgres next to stratum.
 *
 * Two ways a client can be built, and what stratum does with each:
 *
 * - **On stratumAdapter()** (`new PrismaClient({ adapter: stratumAdapter(…) })`, then
 *   `$extends(withAccelerate())` and `$extends(stratum(…))`): statements go over TCP through the
 *   scoped driver, so every one carries its tenant's signed scope. `withAccelerate()` composes: its
 *   `cacheStrategy` argument is accepted on `$tenant(id)` queries, and before it reaches
 *   Accelerate stratum makes it tenant-safe (`scopeCacheStrategy`): the tenant is added to the
 *   query's `where` (what a query cache keys on), and every cache tag is prefixed with the tenant
 *   (so `$accelerate.invalidate({ tags })` of one tenant never drops another's entries, and one
 *   tenant's tag cannot name another's). Accelerate's cache itself sits on its HTTP path, which a
 *   driver adapter bypasses: on this client `cacheStrategy` caches nothing, and no cached row can
 *   cross tenants by construction; the rewrite keeps that true if a cache is ever in the path.
 * - **Over HTTP** (`accelerateUrl: "prisma://…"` or `"prisma+postgres://…"`, no adapter): queries
 *   travel to Accelerate / Prisma Postgres as JSON and are run by its query engine on its own
 *   connections. stratum cannot put the signed scope in the same round trip as the statement, and
 *   Accelerate's cache keys a result by the query alone, blind to a transaction-local setting. A
 *   batch-transaction scope (`$transaction([set_config(…), query])`) was considered: it doubles
 *   the statements, loses `cacheStrategy` (Accelerate does not cache inside transactions) and
 *   still leaves every unscoped path unguarded. So `$tenant()` refuses there with
 *   ADAPTER_NOT_STRATUM, naming the fix: keep Accelerate's HTTP URL for unscoped work if you like,
 *   and build the tenant client on stratumAdapter() with the database's direct URL.
 */
import { StratumError } from "../core/errors.js";
import type { StratumModels } from "../core/models.js";

/** What Prisma 7 keeps of a client's construction (read, never changed). */
interface EngineConfig {
  adapter?: unknown;
  accelerateUrl?: string;
}

/** True when the client has no driver adapter: Prisma 7 then speaks HTTP to Accelerate / Prisma Postgres. */
export function speaksHttp(client: unknown): boolean {
  const config = (client as { _engineConfig?: EngineConfig } | null)?._engineConfig;
  return config !== undefined && config.adapter === undefined && typeof config.accelerateUrl === "string";
}

export function httpEngineRefusal(): StratumError {
  return new StratumError(
    "ADAPTER_NOT_STRATUM",
    "prisma.$tenant() needs a client built on stratumAdapter(): this one sends queries over HTTP to Prisma Accelerate or Prisma Postgres (accelerateUrl, no driver adapter), where stratum cannot attach the tenant's signed scope to each statement and Accelerate's cache cannot tell tenants apart. Build it as new PrismaClient({ adapter: stratumAdapter({ connectionString: <the database's direct postgres:// URL> }) }), then $extends(withAccelerate()) and $extends(stratum(…)).",
    { engine: "http" },
  );
}

/** Accelerate's limit on a cache tag: letters, digits and underscores, at most 64 characters. */
const TAG = /^[A-Za-z0-9_]{1,64}$/;

/** The tag Accelerate stores for `tag` on `tenantId`'s queries: `t<tenant hex>_<tag>`. Use it with `$accelerate.invalidate`. */
export function tenantCacheTag(tenantId: string, tag: string): string {
  const scoped = `t${tenantId.replaceAll("-", "")}_${tag}`;
  if (!TAG.test(scoped)) {
    throw new StratumError(
      "VALIDATION_FAILED",
      `Cache tag ${JSON.stringify(tag)} cannot be scoped to a tenant: stratum prefixes tags with "t<tenant id hex>_" (34 characters), and Accelerate allows letters, digits and _ up to 64 in all, so a tag may have 30.`,
      { tag },
    );
  }
  return scoped;
}

interface CacheStrategy {
  tags?: unknown;
  [key: string]: unknown;
}

/**
 * Reads whose `where` takes any filter. (`$tenant` runs a tenant model's findUnique as findFirst,
 * see operations.ts, so it arrives here as one of these; a unique `where` cannot take an AND.)
 */
const READS = new Set(["findMany", "findFirst", "findFirstOrThrow", "count", "aggregate", "groupBy"]);

/**
 * `args` with a tenant-safe `cacheStrategy`: tags prefixed with the tenant, and the tenant in the
 * `where` of a read (the cache key), when the model has a tenant field. Unchanged without one.
 */
export function scopeCacheStrategy(models: StratumModels, model: string | undefined, operation: string, args: unknown, tenantId: string): unknown {
  if (args === null || typeof args !== "object" || !("cacheStrategy" in args)) return args;
  const { cacheStrategy, ...rest } = args as { cacheStrategy?: CacheStrategy; where?: unknown };
  if (!cacheStrategy || typeof cacheStrategy !== "object") return args;
  const tags = Array.isArray(cacheStrategy.tags) ? cacheStrategy.tags.map((t) => tenantCacheTag(tenantId, String(t))) : cacheStrategy.tags;
  const scoped: Record<string, unknown> = { ...rest, cacheStrategy: { ...cacheStrategy, ...(tags !== undefined ? { tags } : {}) } };
  const tenantField = model ? models.models[model]?.tenantField : undefined;
  if (tenantField && READS.has(operation)) {
    const own = { [tenantField]: tenantId };
    scoped.where = rest.where === undefined ? own : { AND: [rest.where, own] };
  }
  return scoped;
}
