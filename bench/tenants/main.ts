/**
 * bench:tenants — tenant writes through `$stratum`, each beside a bare-`pg` baseline measured in
 * the same run on the same database:
 *
 * - createTenant, sequential (one caller);
 * - createTenant, 16 concurrent callers under ONE parent;
 * - createTenant, 16 concurrent callers under 16 parents (one each);
 * - moveTenant of a leaf between two parents, sequential and 16 concurrent (each caller in its
 *   own subtree);
 * - setConfig on a child of the root (ten keys in turn), sequential and 16 concurrent (one tenant
 *   each): locks, the ancestors' locked keys, the upsert and its audit row.
 *
 * The create baseline is one autocommit `INSERT` of a tenant row as the owner over a plain `pg`
 * pool (the triggers fill its path and depth and sign its scope tokens, as for stratum's insert):
 * what the row itself costs PostgreSQL. The move baseline is the one `UPDATE` that rewrites a
 * subtree's paths; the config baseline the row's upsert alone. Rounds alternate stratum and baseline in a rotated order, so drift on a shared
 * machine falls on both; the table prints p50, ops/s, the ratio stratum/baseline and the Node CPU
 * per call (process.cpuUsage over the whole scenario, divided by the calls). The run ends by
 * checking the tree's invariants on every row it wrote.
 *
 *   npm run bench:tenants                                 # about 1–2 minutes on 2 cores
 *   BENCH_ROUNDS=2 BENCH_SEQ=100 BENCH_PER_CALLER=10 …    # shorter: calls per round (sequential) and per caller (16 callers)
 *   BENCH_WEBHOOKS=1 …                                    # with webhooks configured (Redis at REDIS_URL) and one on the root
 *
 * Set-up: a scratch database `bench_ten_<random>` on DATABASE_URL's server (default
 * postgres@127.0.0.1:5432), migrated by stratum's runner as `stratum_owner`, a random scope key;
 * dropped at the end, also on failure.
 */
import { randomBytes, randomUUID } from "node:crypto";
import os from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../../src/index.js";
import { INSTALL_SCOPE_KEY_SQL } from "../../src/isolation/scope.js";
import { applyMigrations, pgExecutor } from "../../src/migrate/runner.js";
import { withDatabase } from "../../test/harness/postgres.js";
import { appUrlOf, ensureRoles, OWNER_ROLE, ownerUrlOf } from "../../test/harness/roles.js";
import { withClient } from "../support/pg.js";
import { cpuSince, postgresCpu } from "../support/server-cpu.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MIGRATIONS_DIR = join(ROOT, "prisma", "migrations");
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const SERVER_ADMIN_URL = withDatabase(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres", "postgres");
const ROUNDS = env("BENCH_ROUNDS", 3);
const SEQ = env("BENCH_SEQ", 300); // sequential calls per round per scenario
const PER_CALLER = env("BENCH_PER_CALLER", 25); // calls per caller per round at 16 callers
const CALLERS = 16;
const WEBHOOKS = process.env.BENCH_WEBHOOKS === "1";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const POOL_MAX = 16;

const log = (line: string) => console.error(`[bench] ${line}`);

// ---------------------------------------------------------------------------------------------
// Measuring

interface Sample {
  lat: number[];
  wallMs: number;
  cpuUs: number;
  /** PostgreSQL's CPU over the same span (bench/support/server-cpu.ts). */
  pgUs: number;
}

/** Runs `op` from `callers` concurrent loops, `perCaller` times each: latencies, wall time, Node CPU. */
async function drive(callers: number, perCaller: number, op: (caller: number, n: number) => Promise<unknown>): Promise<Sample> {
  const lat: number[] = [];
  const pg0 = postgresCpu();
  const c0 = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let n = 0; n < perCaller; n++) {
        const t0 = performance.now();
        await op(c, n);
        lat.push(performance.now() - t0);
      }
    }),
  );
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(c0);
  return { lat, wallMs, cpuUs: cpu.user + cpu.system, pgUs: cpuSince(pg0) };
}

interface Totals {
  lat: number[];
  wallMs: number;
  cpuUs: number;
  pgUs: number;
}

function add(into: Map<string, Totals>, key: string, s: Sample): void {
  const t = into.get(key) ?? { lat: [], wallMs: 0, cpuUs: 0, pgUs: 0 };
  t.lat.push(...s.lat);
  t.wallMs += s.wallMs;
  t.cpuUs += s.cpuUs;
  t.pgUs += s.pgUs;
  into.set(key, t);
}

function p50(xs: number[]): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/** A leaf (with one child) that moves between two parents `a` and `b`. */
interface Mover {
  a: string;
  b: string;
  leaf: string;
}

interface Scenario {
  label: string;
  callers: number;
  perCaller: number;
  /** Stratum's call for caller `c`'s `n`th operation in round `r`. */
  stratum: (r: number, c: number, n: number) => Promise<unknown>;
  baseline: (r: number, c: number, n: number) => Promise<unknown>;
  /** Undoes what a round's moves changed, so the next round starts from the same tree. */
  reset?: () => Promise<void>;
}

async function main(): Promise<void> {
  const started = performance.now();
  const dbName = `bench_ten_${randomBytes(6).toString("hex")}`;
  const scopeKey = randomBytes(32).toString("hex");
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
    cleanups.length = 0;
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await ensureRoles(SERVER_ADMIN_URL);
    await withClient(SERVER_ADMIN_URL, (c) => c.query(`CREATE DATABASE ${dbName} OWNER ${OWNER_ROLE}`));
    cleanups.push(() => withClient(SERVER_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)));
    const ownerUrl = withDatabase(ownerUrlOf(SERVER_ADMIN_URL), dbName);
    await withClient(ownerUrl, async (c) => {
      const result = await applyMigrations(pgExecutor(c), { migrationsDir: MIGRATIONS_DIR });
      log(`${dbName}: applied ${result.applied.join(", ")}`);
      await c.query(INSTALL_SCOPE_KEY_SQL, [scopeKey]);
    });

    const adapter = stratumAdapter({ connectionString: withDatabase(appUrlOf(SERVER_ADMIN_URL), dbName), pool: { max: POOL_MAX, idleTimeoutMillis: 2_000 } });
    const base = new PrismaClient({ adapter });
    cleanups.push(() => base.$disconnect());
    // BENCH_WEBHOOKS=1: webhooks configured (delivery workers off) and one subscribed to every tenant
    // event on the root, so each create and move also queues a delivery in its transaction.
    const webhooks = WEBHOOKS
      ? { redis: REDIS_URL, queueName: `bench-ten-${randomBytes(4).toString("hex")}`, start: false, allowInsecure: true, allowPrivateNetworks: true }
      : undefined;
    const prisma = base.$extends(stratum({ models: stratumModels, scopeKey, admin: { connectionString: ownerUrl }, ...(webhooks ? { webhooks } : {}) }));
    const $s = prisma.$stratum;
    // The webhook service's Redis connections would keep the process alive.
    cleanups.push(() => $s.close());
    // The baseline connects as the owner: the triggers run, RLS does not matter for the owner.
    const bare = new pg.Pool({ connectionString: ownerUrl, max: POOL_MAX, idleTimeoutMillis: 2_000 });
    cleanups.push(() => bare.end());

    const tag = randomBytes(3).toString("hex");
    let seq = 0;
    const slug = (kind: string) => `bt_${tag}_${kind}_${(seq++).toString(36)}`;
    const create = (parent: string | null, kind: string) =>
      $s.createTenant({ name: `Bench ${kind}`, slug: slug(kind), ...(parent ? { parent_id: parent } : {}) });
    const bareInsert = (parent: string | null, kind: string) =>
      bare.query(
        `INSERT INTO public.stratum_tenants (id, parent_id, slug, name, isolation_strategy, metadata, updated_at)
         VALUES ($1::uuid, $2::uuid, $3, $4, 'SHARED_RLS', '{}'::jsonb, now())`,
        [randomUUID(), parent, slug(kind), `Bench ${kind}`],
      );

    // The tree: a root, 16 parents under it (one per caller), and per caller two move targets and
    // a leaf (with one child) that moves between them.
    const root = await create(null, "root");
    if (WEBHOOKS) await $s.registerWebhook(root.id, { url: "http://127.0.0.1:9/bench", events: ["tenant.*"] });
    const parents: Array<{ id: string }> = [];
    for (let c = 0; c < CALLERS; c++) parents.push(await create(root.id, "p"));
    const one = parents[0]!.id;
    const movers: Mover[] = [];
    for (let c = 0; c < CALLERS; c++) {
      const a = await create(parents[c]!.id, "ma");
      const b = await create(parents[c]!.id, "mb");
      const leaf = await create(a.id, "ml");
      await create(leaf.id, "mc");
      movers.push({ a: a.id, b: b.id, leaf: leaf.id });
    }
    // The baseline moves its own copies of the same shape.
    const bareMovers: Mover[] = [];
    for (let c = 0; c < CALLERS; c++) {
      const a = await create(parents[c]!.id, "xa");
      const b = await create(parents[c]!.id, "xb");
      const leaf = await create(a.id, "xl");
      await create(leaf.id, "xc");
      bareMovers.push({ a: a.id, b: b.id, leaf: leaf.id });
    }
    const moveTarget = (m: { a: string; b: string }, n: number) => (n % 2 === 0 ? m.b : m.a);
    // The baseline's config write: the row's upsert alone, on its own keys.
    const bareConfig = (tenantId: string, key: string, value: number) =>
      bare.query(
        `INSERT INTO public.stratum_config (id, tenant_id, key, value) VALUES ($1::uuid, $2::uuid, $3, $4::jsonb)
         ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value, version = stratum_config.version + 1, updated_at = now()`,
        [randomUUID(), tenantId, `bare_${key}`, JSON.stringify(value)],
      );
    const bareMove = (leaf: string, to: string) =>
      bare.query(
        `WITH moving AS (SELECT path, nlevel(path) AS lvl FROM public.stratum_tenants WHERE id = $1::uuid),
              target AS (SELECT path FROM public.stratum_tenants WHERE id = $2::uuid)
         UPDATE public.stratum_tenants t
            SET path = target.path || subpath(t.path, moving.lvl - 1), depth = nlevel(target.path || subpath(t.path, moving.lvl - 1)) - 1,
                parent_id = CASE WHEN t.id = $1::uuid THEN $2::uuid ELSE t.parent_id END
           FROM moving, target WHERE t.path <@ moving.path`,
        [leaf, to],
      );
    // A round's moves end where they began when a caller makes an even number of them.
    const perCallerMoves = PER_CALLER % 2 === 0 ? PER_CALLER : PER_CALLER + 1;
    const seqMoves = SEQ % 2 === 0 ? SEQ : SEQ + 1;

    const scenarios: Scenario[] = [
      {
        label: "createTenant, sequential",
        callers: 1,
        perCaller: SEQ,
        stratum: () => create(one, "s"),
        baseline: () => bareInsert(one, "s"),
      },
      {
        label: "createTenant, 16 concurrent, one parent",
        callers: CALLERS,
        perCaller: PER_CALLER,
        stratum: () => create(one, "o"),
        baseline: () => bareInsert(one, "o"),
      },
      {
        label: "createTenant, 16 concurrent, 16 parents",
        callers: CALLERS,
        perCaller: PER_CALLER,
        stratum: (_r, c) => create(parents[c]!.id, "m"),
        baseline: (_r, c) => bareInsert(parents[c]!.id, "m"),
      },
      {
        label: "moveTenant (subtree of 2), sequential",
        callers: 1,
        perCaller: seqMoves,
        stratum: (_r, _c, n) => $s.moveTenant(movers[0]!.leaf, moveTarget(movers[0]!, n)),
        baseline: (_r, _c, n) => bareMove(bareMovers[0]!.leaf, moveTarget(bareMovers[0]!, n)),
      },
      {
        label: "moveTenant (subtree of 2), 16 concurrent, 16 subtrees",
        callers: CALLERS,
        perCaller: perCallerMoves,
        stratum: (_r, c, n) => $s.moveTenant(movers[c]!.leaf, moveTarget(movers[c]!, n)),
        baseline: (_r, c, n) => bareMove(bareMovers[c]!.leaf, moveTarget(bareMovers[c]!, n)),
      },
      {
        label: "setConfig, sequential",
        callers: 1,
        perCaller: SEQ,
        stratum: (_r, _c, n) => $s.setConfig(parents[0]!.id, `bench_key_${n % 10}`, { value: n }),
        baseline: (_r, _c, n) => bareConfig(parents[0]!.id, `bench_key_${n % 10}`, n),
      },
      {
        label: "setConfig, 16 concurrent, 16 tenants",
        callers: CALLERS,
        perCaller: PER_CALLER,
        stratum: (_r, c, n) => $s.setConfig(parents[c]!.id, `bench_key_${n % 10}`, { value: n }),
        baseline: (_r, c, n) => bareConfig(parents[c]!.id, `bench_key_${n % 10}`, n),
      },
    ];

    // Warm-up: connections, plans, the JIT.
    for (const s of scenarios) {
      await drive(s.callers, Math.max(2, Math.round(s.perCaller / 10)) * 2, (c, n) => s.stratum(-1, c, n));
      await drive(s.callers, Math.max(2, Math.round(s.perCaller / 10)) * 2, (c, n) => s.baseline(-1, c, n));
    }
    const totals = new Map<string, Totals>();
    for (let round = 0; round < ROUNDS; round++) {
      const tr = performance.now();
      // The tables grow by thousands of rows over the run and the moves leave dead rows behind;
      // autovacuum would clean and re-analyze them as they do, but it may be off on a bench
      // machine (it is on these), and the bench would measure the empty tables' statistics and
      // the bloat instead of stratum's statements.
      await bare.query("VACUUM ANALYZE");
      for (const s of scenarios) {
        // Which goes first alternates per round: neither always inherits the other's garbage.
        const sides = round % 2 === 0 ? (["stratum", "baseline"] as const) : (["baseline", "stratum"] as const);
        for (const side of sides) add(totals, `${s.label}|${side}`, await drive(s.callers, s.perCaller, (c, n) => s[side](round, c, n)));
      }
      log(`round ${round + 1}/${ROUNDS} in ${((performance.now() - tr) / 1000).toFixed(1)} s`);
    }

    const broken = await withClient(ownerUrl, (c) => c.query<{ n: number }>(INVARIANTS_SQL));
    const rows = await withClient(ownerUrl, (c) => c.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.stratum_tenants`));

    const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
    const lines = [
      `## bench:tenants — ${ROUNDS} rounds; ${SEQ} sequential calls and ${CALLERS} × ${PER_CALLER} concurrent calls per round per scenario${WEBHOOKS ? "; a webhook on the root subscribed to tenant.*" : ""}; load average ${loadavg()}`,
      "",
      "| scenario | stratum p50 | stratum ops/s | stratum Node CPU/call | stratum PostgreSQL CPU/call | bare pg p50 | bare pg ops/s | bare pg Node CPU/call | bare pg PostgreSQL CPU/call | ops/s ratio (stratum / bare) |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ];
    for (const s of scenarios) {
      const st = totals.get(`${s.label}|stratum`)!;
      const bt = totals.get(`${s.label}|baseline`)!;
      const ops = (t: Totals) => (t.lat.length * 1000) / t.wallMs;
      const cpu = (t: Totals) => `${(t.cpuUs / t.lat.length).toFixed(0)} µs`;
      const pgCpu = (t: Totals) => (Number.isNaN(t.pgUs) ? "—" : `${(t.pgUs / t.lat.length).toFixed(0)} µs`);
      lines.push(
        `| ${s.label} | ${fmt(p50(st.lat))} | ${ops(st).toFixed(0)} | ${cpu(st)} | ${pgCpu(st)} | ${fmt(p50(bt.lat))} | ${ops(bt).toFixed(0)} | ${cpu(bt)} | ${pgCpu(bt)} | ${(ops(st) / ops(bt)).toFixed(2)}× |`,
      );
    }
    lines.push(
      "",
      `Invariants over all ${rows.rows[0]!.n} tenants (path = parent's path + own label, depth = nlevel − 1, no orphans): ${broken.rows[0]!.n} broken.`,
      `Total run time ${((performance.now() - started) / 1000).toFixed(0)} s.`,
    );
    console.log(lines.join("\n"));
    if (broken.rows[0]!.n !== 0) process.exitCode = 1;
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** 1, 5 and 15 minute load averages: how busy the shared machine was. */
function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" / ");
}

/** Rows whose path, depth or parent disagree with their parent's. */
const INVARIANTS_SQL = `
SELECT count(*)::int AS n FROM public.stratum_tenants t LEFT JOIN public.stratum_tenants p ON p.id = t.parent_id
 WHERE (t.parent_id IS NOT NULL AND p.id IS NULL)
    OR t.path IS DISTINCT FROM (CASE WHEN t.parent_id IS NULL THEN ''::ltree ELSE p.path END) || text2ltree(replace(t.id::text, '-', '_'))
    OR t.depth <> nlevel(t.path) - 1`;

await main();
