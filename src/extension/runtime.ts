/**
 * Everything the extension's parts share, built once per `$extends(stratum(...))`: the admin Db,
 * the router and strategies, the admin connections, the cipher. Parts receive this object rather
 * than reaching into each other.
 */
import { subtreeSql } from "../core/subtree.js";
import { createAuditService, currentActor, encodeActor, SYSTEM_ACTOR, type AuditService } from "../audit/index.js";
import { createWebhookService, withWebhookEvents, type WebhookService, type WebhookServiceDeps } from "../webhooks/index.js";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { StratumModels } from "../core/models.js";
import type { ChangeBus, ValueCipher } from "../core/ports.js";
import type { IsolationStrategyName } from "../core/types.js";
import { createFieldCipher, createKeyring, keyringFromEnv, type FieldCipher } from "../crypto/index.js";
import { CONNECTION_FACTS_SQL, DEFINER_FACTS_SQL, SESSION_FACTS_SQL, connectionProblems, unsafeConnection, type ConnectionFacts } from "../isolation/doctor.js";
import { SHARED_SEARCH_PATH } from "../isolation/names.js";
import { IsolationRouter } from "../isolation/router.js";
import { SCOPE_KEY_PROBLEM, scopeKeyHeld, scopeKeyMismatch } from "../isolation/scope-key.js";
import { ADMIN_TENANT_ID, assertScopeKey, setStatementContextProvider, signScope, type ScopeMode, type TenantScope } from "../isolation/scope.js";
import type { TenantTable } from "../isolation/ddl.js";
import type { SubtreeMember } from "../isolation/descendants.js";
import type { AdminAccess, IsolationStrategy, ProvisionContext, TenantRoute } from "../isolation/strategy.js";
import { createAdminAccess, type AdminOptions } from "./admin.js";
import { driverDb } from "./driver-db.js";
import { prismaDb, type RawClient } from "./prisma-db.js";
import type { StratumAdapterFactory } from "../isolation/adapter.js";
import type { StratumPool } from "../isolation/pg-pipeline.js";
import { buildStrategies, tenantColumnsOf, tenantTablesOf } from "./strategies.js";

export interface StratumOptions {
  /** `stratumModels` from the generated `stratum` folder. */
  models: StratumModels;
  /** Signs tenant scopes; the same key must be installed in the database (`stratum migrate`). Default: env STRATUM_SCOPE_KEY. */
  scopeKey?: string;
  /** Owner-role connections for creating tenant schemas and databases. */
  admin?: AdminOptions;
  /** The role the app connects as (grants on tenant schemas and databases). Default "stratum_app". */
  appRole?: string;
  /** Cross-process invalidation of tenant routes and caches. */
  bus?: ChangeBus;
  /**
   * How often a tenant's route (strategy, placement, status) is re-read in the background.
   * Default 60 s with a `bus`, 5 s without. Changes made in this process apply at once.
   */
  routeTtlMs?: number;
  /**
   * Webhooks: every audited mutation also emits its event (tenant.created, config.updated, …) to
   * the tenant's and its ancestors' webhooks, delivered by a BullMQ worker on this Redis. `start:
   * false` records deliveries without running the worker in this process.
   */
  webhooks?: Omit<WebhookServiceDeps, "audit" | "cipher"> & { start?: boolean };
  /** AES-256-GCM key (base64, 32 bytes) for sensitive config and encrypted fields; default env STRATUM_ENCRYPTION_KEY(S). */
  encryptionKey?: string;
  /** A keyring for rotation: `{ v1: "<base64>", v2: "<base64>" }`; new values use `currentKeyVersion` (default the highest). Overrides `encryptionKey`. */
  encryptionKeys?: Record<string, string>;
  currentKeyVersion?: string | number;
  /** Config service limits: `maxValueBytes` (default 64 KiB of JSON per value; larger is CONFIG_VALUE_TOO_LARGE). */
  config?: { maxValueBytes?: number };
}

export interface StratumRuntime {
  options: StratumOptions;
  models: StratumModels;
  /** Raw access to the client stratum extends (no stratum hooks). */
  base: RawClient;
  /** Stratum's own tables, under the signed admin scope. */
  db: Db;
  /** The scope `db` runs in (for transactions that also run statements in a tenant's scope). */
  adminScope: TenantScope;
  audit: AuditService;
  /** Present when `webhooks` is configured. */
  webhooks: WebhookService | undefined;
  cipher: FieldCipher | undefined;
  admin: AdminAccess;
  appRole: string;
  tenantTables: TenantTable[];
  strategies: Record<IsolationStrategyName, IsolationStrategy>;
  router: IsolationRouter;
  sign(tenantId: string, mode: ScopeMode): string;
  provisionContext(server?: string): ProvisionContext;
  /** A Db whose statements run in one tenant's scope, wherever the tenant lives. */
  tenantDb(tenantId: string): Promise<Db>;
  /** A Db for a scope the caller built (moves address a tenant's old and new homes). */
  scopedDb(scope: TenantScope): Db;
  /** Resolves once the app connection passed the safety check; rejects with SCOPE_KEY_MISMATCH or UNSAFE_CONNECTION. */
  ready(): Promise<void>;
  /** Resolves once the database is known to hold the scope key (services wait for it); rejects with SCOPE_KEY_MISMATCH. */
  keyReady(): Promise<void>;
  /** The app connection's problems, if any (the doctor's report). */
  doctor(): Promise<{ ok: boolean; role: string; problems: string[] }>;
}

const RESOLVED = Promise.resolve();

const ROUTE_COLUMNS = "id, slug, status, isolation_strategy, placement";
const ROUTE_SQL = `SELECT ${ROUTE_COLUMNS} FROM public.stratum_tenants WHERE id = $1::uuid`;
const ROUTES_SQL = `SELECT ${ROUTE_COLUMNS} FROM public.stratum_tenants WHERE id = ANY($1::uuid[])`;
const SUBTREE_ROUTES_SQL = `SELECT t.id, t.slug, t.isolation_strategy, t.placement FROM ${subtreeSql("$1::uuid")} sub, public.stratum_tenants t
  WHERE t.id = ANY(sub.ids) AND (t.status <> 'archived' OR t.id = $1::uuid)`;
export function createRuntime(baseClient: unknown, options: StratumOptions): StratumRuntime {
  // Statements carry the actor for database-side (model) audit, as the services' rows do.
  setStatementContextProvider(() => {
    const actor = currentActor();
    return { actor: actor === SYSTEM_ACTOR ? "" : encodeActor(actor), requestId: actor.requestId ?? "" };
  });
  const key = options.scopeKey ?? process.env.STRATUM_SCOPE_KEY;
  assertScopeKey(key);
  // Two SHA-256 passes per token: cached, since every scoped statement needs one.
  const tokens = new Map<string, string>();
  const sign = (tenantId: string, mode: ScopeMode) => {
    const cacheKey = `${tenantId}.${mode}`;
    let token = tokens.get(cacheKey);
    if (!token) {
      if (tokens.size >= 10_000) tokens.delete(tokens.keys().next().value as string);
      token = signScope(key, tenantId, mode);
      tokens.set(cacheKey, token);
    }
    return token;
  };
  const adminScope: TenantScope = {
    tenantId: ADMIN_TENANT_ID,
    mode: "a",
    strategy: "SHARED_RLS",
    token: sign(ADMIN_TENANT_ID, "a"),
    // pg_temp last: a temporary table on a pooled connection cannot stand in for stratum's tables.
    searchPath: SHARED_SEARCH_PATH,
    readOnly: false,
  };
  const base = baseClient as RawClient;
  const db = adminDb(base, adminScope);
  const tenantTables = tenantTablesOf(options.models);
  const strategies = buildStrategies(tenantTables.map((t) => t.table));
  const router = new IsolationRouter({
    strategies,
    sign,
    // With a change bus, other processes' changes arrive as events; the TTL only bounds staleness
    // when an event is missed. Without one it bounds how long another process's move, archive
    // or suspension takes to be seen here.
    ttlMs: options.routeTtlMs ?? (options.bus ? 60_000 : 5_000),
    // Prepared by name: a route is read again after every scoped statement that found nothing
    // (route-guard.ts), and planning this lookup under the tenants table's row security cost
    // ≈ 50 µs of server CPU each time, more than running it.
    load: async (id) => (await db.query<TenantRoute>(ROUTE_SQL, [id], { name: "stratum_route" }))[0] ?? null,
    loadMany: (ids) => db.query<TenantRoute>(ROUTES_SQL, [ids], { name: "stratum_routes" }),
    loadSubtree: (id) => db.query<SubtreeMember>(SUBTREE_ROUTES_SQL, [id], { name: "stratum_subtree_routes" }),
    tables: tenantColumnsOf(options.models),
  });
  options.bus?.subscribe((event) => router.forget(event.tenantId));
  const keyring = options.encryptionKeys
    ? createKeyring({ keys: options.encryptionKeys, ...(options.currentKeyVersion !== undefined ? { current: options.currentKeyVersion } : {}) })
    : options.encryptionKey
      ? createKeyring({ keys: { v1: options.encryptionKey } })
      : keyringFromEnv();
  const admin = createAdminAccess(options.admin ?? {});
  const appRole = options.appRole ?? "stratum_app";
  const doctor = async () => {
    const rows = await base.$queryRawUnsafe<ConnectionFacts[]>(
      CONNECTION_FACTS_SQL,
      tenantTables.map((t) => t.table),
    );
    const definers = await base.$queryRawUnsafe<Array<Pick<ConnectionFacts, "leaky_views" | "unpinned_definers">>>(DEFINER_FACTS_SQL);
    const session = await base.$queryRawUnsafe<Array<Pick<ConnectionFacts, "session_privileges">>>(SESSION_FACTS_SQL);
    const facts = { ...rows[0]!, ...definers[0]!, ...session[0]! };
    const problems = connectionProblems(facts);
    if (!(await scopeKeyHeld(db))) problems.unshift(SCOPE_KEY_PROBLEM);
    return { ok: problems.length === 0, role: facts.role, problems };
  };
  let checked: Promise<void> | undefined;
  let passed = false;
  const ready = () =>
    passed
      ? RESOLVED
      : (checked ??= doctor().then(
          (report) => {
            if (report.problems.includes(SCOPE_KEY_PROBLEM)) throw scopeKeyMismatch();
            if (!report.ok) throw unsafeConnection(report.problems);
            passed = true;
          },
          (error: unknown) => {
            // A connection lost under the check is not a verdict: the next call checks again,
            // rather than every later call failing with this one's error.
            checked = undefined;
            throw error;
          },
        ));
  let keyChecked: Promise<void> | undefined;
  let keyPassed = false;
  const keyReady = () =>
    keyPassed
      ? RESOLVED
      : (keyChecked ??= scopeKeyHeld(db).then(
          (held) => {
            if (!held) throw scopeKeyMismatch();
            keyPassed = true;
          },
          (error: unknown) => {
            keyChecked = undefined; // a connection failure is not a verdict: check again next time
            throw error;
          },
        ));
  const cipher = keyring ? createFieldCipher(keyring) : undefined;
  const audit = createAuditService(db);
  const webhooks = createWebhooks(db, audit, cipher, options.webhooks);
  return {
    options,
    models: options.models,
    base,
    db,
    adminScope,
    // With webhooks, each audit row also emits its event in the same transaction.
    audit: webhooks ? withWebhookEvents(audit, webhooks) : audit,
    webhooks,
    cipher,
    admin,
    appRole,
    tenantTables,
    strategies,
    router,
    sign,
    provisionContext: (server) => ({ admin, tenantTables, appRole, ...(server ? { server } : {}) }),
    tenantDb: async (tenantId) => prismaDb(base, await router.scope(tenantId, { mode: "s", readOnly: false, write: true })),
    scopedDb: (scope) => prismaDb(base, scope),
    ready,
    keyReady,
    doctor,
  };
}

/**
 * Stratum's own Db. On stratumAdapter over pg it runs on the driver's main pool directly (driver-db.ts);
 * on anything else (a wrapped adapter such as PGlite, Accelerate over HTTP) through Prisma's raw
 * queries and interactive transactions.
 */
function adminDb(base: RawClient, scope: TenantScope): Db {
  const factory = (base as { _engineConfig?: { adapter?: Partial<StratumAdapterFactory> } })._engineConfig?.adapter;
  if (typeof factory?.mainPool !== "function" || factory.options?.adapter) return prismaDb(base, scope);
  const mainPool = factory.mainPool.bind(factory);
  const pool = async (): Promise<StratumPool> => {
    const connected = mainPool();
    if (connected) return connected;
    // Prisma connects its adapter on first use: make that happen, then use the pool it opened.
    await (base as unknown as { $connect(): Promise<void> }).$connect();
    const opened = mainPool();
    if (!opened) throw new StratumError("ADAPTER_NOT_STRATUM", "Prisma connected, but stratumAdapter opened no pool for the main database.");
    return opened;
  };
  return driverDb((): StratumPool | Promise<StratumPool> => mainPool() ?? pool(), scope);
}

function createWebhooks(db: Db, audit: AuditService, cipher: ValueCipher | undefined, config: StratumOptions["webhooks"]): WebhookService | undefined {
  if (!config) return undefined;
  const { start, ...deps } = config;
  const service = createWebhookService(db, { ...deps, audit, ...(cipher ? { cipher } : {}) });
  if (start !== false) service.start();
  return service;
}
