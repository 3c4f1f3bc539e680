/**
 * `prisma.$extends(stratum({...}))`: adds `$stratum` (the services) and `$tenant(id)` (a client
 * scoped to one tenant), and makes tenant models fail closed on the unscoped client.
 */
import { Prisma } from "@prisma/client/extension";
import { createAbacService } from "../abac/index.js";
import { createAuditService } from "../audit/index.js";
import { createConfigService } from "../config/index.js";
import { createFieldCipher, createKeyring, keyringFromEnv } from "../crypto/index.js";
import { createPermissionService } from "../permissions/index.js";
import { StratumError } from "../core/errors.js";
import type { StratumModels } from "../core/models.js";
import type { ChangeBus } from "../core/ports.js";
import { IsolationRouter } from "../isolation/router.js";
import { ADMIN_TENANT_ID, assertScopeKey, currentScope, runInScope, runUnscoped, signScope, type TenantScope } from "../isolation/scope.js";
import { createTenantService } from "../tenants/service.js";
import { currentTenant } from "./context.js";
import { createAdminAccess, type AdminOptions } from "./admin.js";
import { prismaDb, type RawClient } from "./prisma-db.js";
import { buildStrategies, tenantTablesOf } from "./strategies.js";
import { isWriteOperation, uniqueToFirst } from "./operations.js";

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
  /** AES-256-GCM key (base64, 32 bytes) for sensitive config; default env STRATUM_ENCRYPTION_KEY(S). */
  encryptionKey?: string;
}

export interface TenantClientOptions {
  /** Read the tenant's and its descendants' rows (SHARED_RLS descendants). Read-only unless `writable`. */
  descendants?: boolean;
  writable?: boolean;
}

const SCOPED_CLIENTS = 512;

export function stratum(options: StratumOptions) {
  const key = options.scopeKey ?? process.env.STRATUM_SCOPE_KEY;
  assertScopeKey(key);
  const sign = (tenantId: string, mode: "s" | "d" | "a") => signScope(key, tenantId, mode);
  const adminScope: TenantScope = {
    tenantId: ADMIN_TENANT_ID,
    mode: "a",
    strategy: "SHARED_RLS",
    token: sign(ADMIN_TENANT_ID, "a"),
    searchPath: "public",
    readOnly: false,
  };
  const tenantModels = new Set(options.models.tenantModels);
  const appRole = options.appRole ?? "stratum_app";

  return Prisma.defineExtension((base) => {
    const raw = base as unknown as RawClient;
    const db = prismaDb(raw, adminScope);
    const audit = createAuditService(db);
    const admin = createAdminAccess(options.admin ?? {});
    const tenantTables = tenantTablesOf(options.models);
    const strategies = buildStrategies(tenantTables.map((t) => t.table));
    const router = new IsolationRouter({
      strategies,
      sign,
      load: async (id) => (await db.query<{ id: string; slug: string; status: string; isolation_strategy: "SHARED_RLS"; placement: string | null }>(
        "SELECT id, slug, status, isolation_strategy, placement FROM stratum_tenants WHERE id = $1::uuid", [id]))[0] ?? null,
    });
    options.bus?.subscribe((event) => router.forget(event.tenantId));
    const provisionContext = (server?: string) => ({ admin, tenantTables, appRole, ...(server ? { server } : {}) });
    const tenants = createTenantService(db, {
      audit,
      ...(options.bus ? { bus: options.bus } : {}),
      hooks: {
        provision: (tenant, server) => strategies[tenant.isolation_strategy].provision(tenant, provisionContext(server)),
        deprovision: (tenant) => strategies[tenant.isolation_strategy].deprovision(tenant, provisionContext()),
        changed: (ids) => ids.forEach((id) => router.forget(id)),
      },
    });
    const keyring = options.encryptionKey ? createKeyring({ keys: { v1: options.encryptionKey } }) : keyringFromEnv();
    const cipher = keyring ? createFieldCipher(keyring) : undefined;
    const bus = options.bus ? { bus: options.bus } : {};
    const config = createConfigService(db, { audit, ...bus, ...(cipher ? { cipher } : {}) });
    const permissions = createPermissionService(db, { audit, ...bus });
    const abac = createAbacService(db, { audit, ...bus });
    const services = {
      ...tenants,
      setConfig: config.setConfig,
      setConfigBatch: config.setConfigBatch,
      deleteConfig: config.deleteConfig,
      getConfig: config.getConfig,
      resolveConfig: config.resolveConfig,
      resolveConfigKey: config.resolveConfigKey,
      diffConfig: config.diffConfig,
      createPermission: permissions.createPermission,
      updatePermission: permissions.updatePermission,
      revokePermission: permissions.revokePermission,
      resolvePermissions: permissions.resolvePermissions,
      listPermissions: permissions.listPermissions,
      createPolicy: abac.createPolicy,
      updatePolicy: abac.updatePolicy,
      deletePolicy: abac.deletePolicy,
      listPolicies: abac.listPolicies,
      evaluate: abac.evaluate,
      listAudit: audit.list,
    };

    /** Runs one operation for a tenant. Standalone calls resolve the scope; calls inside the
     * scoped client's own $transaction find it already set and run as they are. */
    async function runScoped(
      tenantId: string,
      request: { mode: "s" | "d"; readOnly: boolean },
      op: { model?: string; operation: string; args: unknown; query: (args: unknown) => PromiseLike<unknown> },
      client: Record<string, Record<string, (args: unknown) => PromiseLike<unknown>>>,
    ): Promise<unknown> {
      const write = isWriteOperation(op.operation);
      const existing = currentScope();
      if (existing && existing.tenantId === tenantId && existing.mode === request.mode) {
        if (write && existing.readOnly) throw readOnly(tenantId);
        return op.query(op.args);
      }
      if (write && request.readOnly) throw readOnly(tenantId);
      const scope = await router.scope(tenantId, { ...request, write });
      return runInScope(scope, () => {
        // Prisma batches findUnique calls of one tick into one statement, across callers: for a
        // scoped call that would mix tenants, so it runs as the equivalent findFirst instead.
        const first = op.model && tenantModels.has(op.model) ? uniqueToFirst(options.models, op.model, op.operation, op.args) : null;
        if (first) {
          const delegate = client[lowerFirst(op.model!)]!;
          return Promise.resolve(delegate[first.operation]!(first.args));
        }
        return Promise.resolve(op.query(op.args));
      });
    }

    function scopedClient(self: unknown, tenantId: string, request: { mode: "s" | "d"; readOnly: boolean }) {
      const parent = self as { $extends: (ext: unknown) => unknown; $transaction: (...args: unknown[]) => PromiseLike<unknown> };
      const extended = parent.$extends({
        name: `stratum:tenant:${tenantId}`,
        query: {
          $allOperations(op: { model?: string; operation: string; args: unknown; query: (args: unknown) => PromiseLike<unknown> }) {
            return runScoped(tenantId, request, op, extended as never);
          },
        },
      }) as Record<string | symbol, unknown> & { $transaction: (...args: unknown[]) => PromiseLike<unknown> };
      return new Proxy(extended, {
        get(target, prop, receiver) {
          if (prop !== "$transaction") return Reflect.get(target, prop, receiver);
          return async (arg: unknown, txOptions?: unknown) => {
            const scope = await router.scope(tenantId, { ...request, write: !request.readOnly });
            if (typeof arg === "function") {
              // The callback itself runs outside the scope: its tx calls are bound to the
              // transaction's scope by the adapter, and other clients it uses keep their own.
              return runInScope(scope, () =>
                Promise.resolve(target.$transaction((tx: unknown) => runUnscoped(() => (arg as (tx: unknown) => unknown)(tx)), txOptions)),
              );
            }
            return runInScope(scope, () => Promise.resolve(target.$transaction(arg, txOptions)));
          };
        },
      });
    }

    const cache = new Map<string, unknown>();

    // Set right below; the hooks read it lazily, after construction.
    let extendedClient: unknown;
    const stratumClient = base.$extends({
      name: "stratum",
      client: {
        $stratum: services,
        /** The client scoped to one tenant; with no id, the tenant of `runWithTenant`. */
        $tenant<T>(this: T, tenantId?: string, opts: TenantClientOptions = {}): T {
          const id = tenantId ?? currentTenant()?.tenantId;
          if (!id) {
            throw new StratumError("NO_TENANT_CONTEXT", "No tenant given: call prisma.$tenant(id), or run inside runWithTenant(id, fn).");
          }
          const descendants = opts.descendants ?? (tenantId === undefined ? currentTenant()?.descendants : false) ?? false;
          const request = { mode: descendants ? ("d" as const) : ("s" as const), readOnly: descendants && !opts.writable };
          const self = Prisma.getExtensionContext(this);
          const cacheKey = `${id}:${request.mode}:${request.readOnly}`;
          if ((self as unknown) === extendedClient) {
            let client = cache.get(cacheKey);
            if (!client) {
              if (cache.size >= SCOPED_CLIENTS) cache.delete(cache.keys().next().value as string);
              // Built on the client stratum extended, not on stratum's own: its fail-closed hook
              // would run before the scoping hook and refuse every call.
              client = scopedClient(base, id, request);
              cache.set(cacheKey, client);
            }
            return client as T;
          }
          // Inside an interactive transaction: the transaction client cannot be extended, so each
          // call is wrapped instead (no batching or laziness to preserve there).
          return transactionScopedClient(self, (write) => router.scope(id, { ...request, write })) as T;
        },
      },
      query: {
        $allOperations({ model, operation, args, query }) {
          if (!model || !tenantModels.has(model) || currentScope()) return query(args);
          const ambient = currentTenant();
          if (!ambient) {
            throw new StratumError(
              "NO_TENANT_CONTEXT",
              `${model}.${operation} needs a tenant: use prisma.$tenant(id).${lowerFirst(model)}.${operation}(…) or run inside runWithTenant(id, fn).`,
              { model, operation },
            );
          }
          const request = { mode: ambient.descendants ? ("d" as const) : ("s" as const), readOnly: !!ambient.descendants };
          return runScoped(ambient.tenantId, request, { model, operation, args, query: query as (a: unknown) => PromiseLike<unknown> }, extendedClient as never) as never;
        },
      },
    });
    extendedClient = stratumClient;
    return stratumClient;
  });
}

/** Wraps every model method and raw call of an interactive-transaction client in a scope. */
function transactionScopedClient(tx: unknown, scopeFor: (write: boolean) => Promise<TenantScope>): unknown {
  const wrap = (fn: (...a: unknown[]) => PromiseLike<unknown>, thisArg: unknown, operation: string) =>
    async (...args: unknown[]) => {
      const scope = await scopeFor(isWriteOperation(operation));
      return runInScope(scope, () => Promise.resolve(fn.apply(thisArg, args)));
    };
  return new Proxy(tx as object, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== "string") return value;
      if (typeof value === "function" && prop.startsWith("$")) return wrap(value as never, target, prop);
      if (value && typeof value === "object" && !prop.startsWith("$")) {
        return new Proxy(value, {
          get(delegate, method, r) {
            const fn = Reflect.get(delegate, method, r) as unknown;
            return typeof fn === "function" && typeof method === "string" ? wrap(fn as never, delegate, method) : fn;
          },
        });
      }
      return value;
    },
  });
}

function readOnly(tenantId: string): StratumError {
  return new StratumError("READ_ONLY_SCOPE", `The descendants view of tenant ${tenantId} is read-only; pass { descendants: true, writable: true } or write through prisma.$tenant(childId).`, { tenantId });
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
