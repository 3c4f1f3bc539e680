/**
 * bench:resolve — resolveConfig / resolvePermissions latency, uncached and cached, at depths 1, 5,
 * 10 and 20 with 20 keys spread over the ancestors (every fourth locked), then the same depth-20
 * resolve against a 1,000-tenant table and a 1,000,000-tenant table in the same run (ratio).
 *
 *   npm run bench:resolve                 # everything (about 2–4 minutes on 2 cores)
 *   BENCH_LARGE=100000 npm run bench:resolve   # a smaller "large" table
 *   BENCH_SKIP_LARGE=1 npm run bench:resolve   # depths only
 *
 * Uses scratch databases on DATABASE_URL's server (default postgres@127.0.0.1:5432) and drops them.
 */
import { performance } from "node:perf_hooks";
import { RESOLVE_CONFIG_SQL, createConfigService, type ConfigService } from "../../src/config/index.js";
import { createPermissionService, type PermissionService } from "../../src/permissions/index.js";
import type { AuditSink } from "../../src/core/ports.js";
import { createScratchDb, insertChain, type ScratchDb } from "../../test/support/config-db.js";

delete process.env.STRATUM_TEST_TEMPLATE; // never the test harness: a plain scratch database
const audit: AuditSink = { record: async () => undefined };
const DEPTHS = [1, 5, 10, 20];
const KEYS = 20;
const UNCACHED_ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 1000);
const CACHED_ITERATIONS = 20_000;
const LARGE = Number(process.env.BENCH_LARGE ?? 1_000_000);
const SMALL = 1_000;

interface Stats {
  p50: number;
  p99: number;
}

async function measure(iterations: number, fn: () => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < Math.min(100, iterations); i++) await fn();
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples[i] = performance.now() - t0;
  }
  samples.sort();
  const at = (q: number) => samples[Math.min(iterations - 1, Math.floor(q * iterations))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

const fmt = (ms: number) => (ms < 0.1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);

/** A chain of `depth` tenants with KEYS config keys and KEYS permissions spread over it. */
async function seedChain(s: ScratchDb, cfg: ConfigService, perms: PermissionService, depth: number): Promise<string> {
  const chain = await insertChain(s.db, depth);
  for (let i = 0; i < KEYS; i++) {
    // keys land on ancestors round-robin; every fourth is locked at the root so later writes below stay legal
    const locked = i % 4 === 0;
    const at = locked ? chain[0]! : chain[i % depth]!;
    await cfg.setConfig(at, `key_${i}`, { value: { n: i, label: `value ${i}` }, locked });
    await perms.createPermission(at, { key: `perm_${i}`, value: true, mode: locked ? "LOCKED" : i % 4 === 1 ? "DELEGATED" : "INHERITED" });
  }
  return chain[depth - 1]!;
}

async function depthTable(): Promise<string[]> {
  const s = await createScratchDb("bench_depth");
  try {
    const cfg = createConfigService(s.db, { audit, cache: false });
    const perms = createPermissionService(s.db, { audit, cache: false });
    const cachedCfg = createConfigService(s.db, { audit, cache: true });
    const cachedPerms = createPermissionService(s.db, { audit, cache: true });
    const lines = [
      "| depth | resolveConfig uncached p50 / p99 | cached p50 / p99 | resolvePermissions uncached p50 / p99 | cached p50 / p99 |",
      "|---:|---:|---:|---:|---:|",
    ];
    for (const depth of DEPTHS) {
      const leaf = await seedChain(s, cfg, perms, depth);
      const check = await cfg.resolveConfig(leaf);
      if (Object.keys(check).length !== KEYS) throw new Error(`expected ${KEYS} keys at depth ${depth}`);
      const cu = await measure(UNCACHED_ITERATIONS, () => cfg.resolveConfig(leaf));
      const cc = await measure(CACHED_ITERATIONS, () => cachedCfg.resolveConfig(leaf));
      const pu = await measure(UNCACHED_ITERATIONS, () => perms.resolvePermissions(leaf));
      const pc = await measure(CACHED_ITERATIONS, () => cachedPerms.resolvePermissions(leaf));
      lines.push(
        `| ${depth} | ${fmt(cu.p50)} / ${fmt(cu.p99)} | ${fmt(cc.p50)} / ${fmt(cc.p99)} | ${fmt(pu.p50)} / ${fmt(pu.p99)} | ${fmt(pc.p50)} / ${fmt(pc.p99)} |`,
      );
      process.stderr.write(`  depth ${depth} done\n`);
    }
    return lines;
  } finally {
    await s.drop();
  }
}

/**
 * Bulk-loads `count` tenants with generate_series: 1,000-wide forests of depth 4 (path computed in
 * SQL, trigger off for the load), a config row and a permission row on every tenth tenant, then
 * indexes and ANALYZE. Returns the leaf of a depth-20 chain seeded like the depth table's.
 */
async function loadTenants(s: ScratchDb, count: number): Promise<string> {
  const t0 = performance.now();
  await s.pool.query(`ALTER TABLE public.stratum_tenants DISABLE TRIGGER stratum_tenant_path`);
  // Secondary indexes (GiST path, unique slug, parent_id) are dropped for the load and rebuilt
  // after: one bulk build instead of a million incremental GiST inserts.
  const secondary = (
    await s.pool.query(
      `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def, c.conname, pg_get_constraintdef(c.oid) AS condef
         FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
        WHERE i.indrelid = 'stratum_tenants'::regclass AND NOT i.indisprimary`,
    )
  ).rows as Array<{ name: string; def: string; conname: string | null; condef: string | null }>;
  for (const ix of secondary) {
    await s.pool.query(ix.conname ? `ALTER TABLE public.stratum_tenants DROP CONSTRAINT "${ix.conname}"` : `DROP INDEX ${ix.name}`);
  }
  // level sizes: roots = count/1000 (min 1); then ×10 per level until count is reached
  const roots = Math.max(1, Math.floor(count / 1000));
  let remaining = count - roots;
  await s.pool.query(
    `INSERT INTO public.stratum_tenants (id, parent_id, slug, name, path, depth)
     SELECT x.id, NULL, 'r' || x.g, 'root ' || x.g, text2ltree(replace(x.id::text, '-', '_')), 0
       FROM (SELECT gen_random_uuid() AS id, g FROM generate_series(1, $1::int) g) x`,
    [roots],
  );
  for (let level = 1; remaining > 0 && level < 19; level++) {
    const parents = (await s.pool.query(`SELECT count(*)::int AS n FROM public.stratum_tenants WHERE depth = $1`, [level - 1])).rows[0].n as number;
    const perParent = Math.min(10, Math.ceil(remaining / parents));
    const rows = Math.min(remaining, parents * perParent);
    await s.pool.query(
      `INSERT INTO public.stratum_tenants (id, parent_id, slug, name, path, depth)
       SELECT x.id, x.pid, 'l${level}_' || x.rn || '_' || x.g, 'tenant', x.path || text2ltree(replace(x.id::text, '-', '_')), $1
         FROM (SELECT gen_random_uuid() AS id, p.id AS pid, p.path, p.rn, g
                 FROM (SELECT id, path, row_number() OVER () AS rn FROM public.stratum_tenants WHERE depth = $2) p
                CROSS JOIN generate_series(1, $3::int) g
                LIMIT $4) x`,
      [level, level - 1, perParent, rows],
    );
    remaining -= rows;
  }
  await s.pool.query(`ALTER TABLE public.stratum_tenants ENABLE TRIGGER stratum_tenant_path`);
  for (const ix of secondary) {
    const rebuild = ix.conname ? `ALTER TABLE public.stratum_tenants ADD CONSTRAINT "${ix.conname}" ${ix.condef}` : ix.def;
    await s.pool.query(`SET maintenance_work_mem = '256MB'; ${rebuild}`); // one simple query: same connection
  }
  await s.pool.query(
    `INSERT INTO public.stratum_config (id, tenant_id, key, value)
     SELECT gen_random_uuid(), id, 'k' || (abs(hashtext(id::text)) % 20), '1'::jsonb
       FROM public.stratum_tenants TABLESAMPLE BERNOULLI (10)`,
  );
  await s.pool.query(
    `INSERT INTO public.stratum_permissions (id, tenant_id, key, value, mode)
     SELECT gen_random_uuid(), id, 'p' || (abs(hashtext(id::text)) % 20), 'true'::jsonb, 'INHERITED'
       FROM public.stratum_tenants TABLESAMPLE BERNOULLI (10)`,
  );
  const cfg = createConfigService(s.db, { audit, cache: false });
  const perms = createPermissionService(s.db, { audit, cache: false });
  const leaf = await seedChain(s, cfg, perms, 20);
  await s.pool.query(`ANALYZE`);
  const n = (await s.pool.query(`SELECT count(*)::int AS n FROM public.stratum_tenants`)).rows[0].n as number;
  process.stderr.write(`  loaded ${n.toLocaleString("en")} tenants in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return leaf;
}

async function sizeTable(): Promise<string[]> {
  const results: Array<{ size: number; cfg: Stats; perms: Stats }> = [];
  for (const size of [SMALL, LARGE]) {
    const s = await createScratchDb("bench_size");
    try {
      const leaf = await loadTenants(s, size);
      const cfg = createConfigService(s.db, { audit, cache: false });
      const perms = createPermissionService(s.db, { audit, cache: false });
      if (process.env.BENCH_EXPLAIN) {
        const plan = await s.pool.query(`EXPLAIN (ANALYZE, BUFFERS) ${RESOLVE_CONFIG_SQL}`, [leaf]);
        process.stderr.write(plan.rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n") + "\n");
      }
      results.push({
        size,
        cfg: await measure(UNCACHED_ITERATIONS, () => cfg.resolveConfig(leaf)),
        perms: await measure(UNCACHED_ITERATIONS, () => perms.resolvePermissions(leaf)),
      });
    } finally {
      await s.drop();
    }
  }
  const [small, large] = results as [(typeof results)[0], (typeof results)[0]];
  return [
    "| tenants in table | resolveConfig p50 / p99 (depth 20, uncached) | resolvePermissions p50 / p99 |",
    "|---:|---:|---:|",
    ...results.map((r) => `| ${r.size.toLocaleString("en")} | ${fmt(r.cfg.p50)} / ${fmt(r.cfg.p99)} | ${fmt(r.perms.p50)} / ${fmt(r.perms.p99)} |`),
    `| **ratio ${large.size.toLocaleString("en")} / ${small.size.toLocaleString("en")} (p50)** | **${(large.cfg.p50 / small.cfg.p50).toFixed(2)}×** | **${(large.perms.p50 / small.perms.p50).toFixed(2)}×** |`,
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  process.stderr.write(`bench:resolve — ${UNCACHED_ITERATIONS} uncached / ${CACHED_ITERATIONS} cached iterations per cell\n`);
  const depth = await depthTable();
  const size = process.env.BENCH_SKIP_LARGE ? [] : await sizeTable();
  const out = [
    `### resolve latency (${KEYS} config keys and ${KEYS} permissions spread over the ancestors, every fourth locked)`,
    "",
    ...depth,
    "",
    ...(size.length ? ["### table size (same run)", "", ...size, ""] : []),
    `_${new Date().toISOString()}, node ${process.version}, ${((performance.now() - started) / 1000).toFixed(0)} s total; one SQL statement per uncached resolve._`,
  ];
  console.log(out.join("\n"));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
