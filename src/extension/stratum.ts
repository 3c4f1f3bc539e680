/**
 * `prisma.$extends(stratum({...}))`: adds `$stratum` (the services) and `$tenant(id)` (a client
 * scoped to one tenant), and makes tenant models fail closed on the unscoped client.
 */
import { Prisma } from "@prisma/client/extension";
import { rethrowRetyped } from "../core/driver-errors.js";
import { StratumError } from "../core/errors.js";
import { assertTenantId } from "../core/validate.js";
import { replicaKey, replicaOption } from "../isolation/replica.js";
import { currentScope, runRawStatement } from "../isolation/scope.js";
import { currentTenant } from "./context.js";
import { createModelHooks } from "./model-hooks.js";
import { createRuntime, type StratumOptions } from "./runtime.js";
import { ScopedClients } from "./scoped-proxy.js";
import { lowerFirst, ScopedRunner, type Operation, type ScopeRequest } from "./scoped.js";
import { httpEngineRefusal, speaksHttp } from "./accelerate.js";
import { createServices } from "./services.js";
import type { StratumServices } from "./stratum-services.js";

export type { StratumOptions } from "./runtime.js";

export interface TenantClientOptions {
  /**
   * Read the tenant's and its descendants' rows: those in the shared tables and in schemas of their
   * own, in one statement. Refuses (DESCENDANTS_OUT_OF_REACH) when some live in databases of their
   * own, unless `"same-database"` (then those are left out). Read-only unless `writable`.
   */
  descendants?: boolean | "same-database";
  writable?: boolean;
  /**
   * Standalone reads go to the hot standby of the tenant's home (stratumAdapter({ replicas })),
   * as of its replay position: a write just made may not be visible yet. Writes, `$executeRaw`
   * and `$transaction` run on the primary. `{ after: lsn }` reads one's own writes: the standby
   * serves the read only once it has replayed `lsn` (from `SELECT pg_current_wal_insert_lsn()` on the
   * tenant's home after the write), the primary until then. docs/scale.md#read-replicas.
   */
  replica?: boolean | { after: string };
}

const SCOPED_CLIENTS = 512;

export function stratum(options: StratumOptions) {
  return Prisma.defineExtension((base) => {
    const runtime = createRuntime(base, options);
    const hooks = createModelHooks(runtime);
    const runner = new ScopedRunner(runtime, hooks);
    // `$tenant(id)` clients: no query extension (its machinery alone costs ~0.08 ms an operation).
    const scopedFactory = new ScopedClients(runtime, hooks, runner);
    // Declared, not inferred: the written API (stratum-services.ts) is what `$stratum` offers.
    const services: StratumServices = createServices(runtime);
    const scopedClients = new Map<string, unknown>();
    const overHttp = speaksHttp(base);
    // Assigned right after construction; the hooks below read it only when called.
    let extendedClient: unknown;

    const stratumClient = base.$extends({
      name: "stratum",
      client: {
        $stratum: services,
        /** The client scoped to one tenant; with no id, the tenant of `runWithTenant`. */
        $tenant<T>(this: T, tenantId?: string, options?: TenantClientOptions): T {
          if (overHttp) throw httpEngineRefusal(); // Accelerate / Prisma Postgres without stratumAdapter: accelerate.ts
          // The common call, `$tenant(id)` on the app client: one lookup of a client made (and its id
          // checked) before.
          if (options === undefined && tenantId !== undefined && (Prisma.getExtensionContext(this) as unknown) === extendedClient) {
            const made = scopedClients.get(tenantId);
            if (made) return made as T;
          }
          const opts = options ?? {};
          const id = tenantId ?? currentTenant()?.tenantId;
          if (!id) {
            throw new StratumError("NO_TENANT_CONTEXT", "No tenant given: call prisma.$tenant(id), or run inside runWithTenant(id, fn).");
          }
          assertTenantId(id);
          const descendants = opts.descendants ?? (tenantId === undefined ? currentTenant()?.descendants : false) ?? false;
          const request: ScopeRequest = {
            mode: descendants ? "d" : "s",
            readOnly: !!descendants && !opts.writable,
            ...(descendants === "same-database" ? { sameDatabaseOnly: true } : {}),
            ...(opts.replica ? { replica: replicaOption(opts.replica) } : {}),
          };
          const self = Prisma.getExtensionContext(this);
          if ((self as unknown) !== extendedClient) return runner.transactionClient(self, id, request) as T;
          // A plain `$tenant(id)` is kept under the id alone, where the lookup above finds it.
          const key =
            options === undefined && tenantId !== undefined
              ? id
              : `${id}:${request.mode}:${request.readOnly}:${request.sameDatabaseOnly === true}:${replicaKey(request.replica)}`;
          let client = scopedClients.get(key);
          if (!client) {
            if (scopedClients.size >= SCOPED_CLIENTS) scopedClients.delete(scopedClients.keys().next().value as string);
            // Built on the client stratum extended, not on stratum's own: its fail-closed hook
            // would run before the scoping hook and refuse every call.
            client = scopedFactory.client(base, id, request);
            scopedClients.set(key, client);
          }
          return client as T;
        },
      },
      query: {
        $allOperations(params) {
          const { model, operation, args, query } = params;
          // Raw SQL through the extended client (inside runWithTenant or a $tenant callback too):
          // the driver resets the session after it, as it does for a scoped client's raw calls.
          if (model === undefined && operation.startsWith("$")) {
            if (!currentScope()) runner.claimBatch(undefined, undefined, params as Pick<Operation, "__internalParams">);
            // Awaited inside the marker: Prisma's promise is lazy, and runs when it is awaited.
            return runRawStatement(async () => await query(args)).catch(rethrowRetyped);
          }
          if (!runner.isTenantModel(model)) {
            // Unscoped statements cannot share a batch with a tenant's (see claimBatch).
            if (!currentScope()) runner.claimBatch(undefined, undefined, params as Pick<Operation, "__internalParams">);
            return query(args);
          }
          const scope = currentScope();
          if (scope) {
            // A call inside a scope (tx.$tenant(id), the ambient form): run it through the runner
            // so model hooks (field encryption) apply as on any scoped client.
            const op: Operation = { model, operation, args, query: query as Operation["query"] };
            return runner.run(scope.tenantId, { mode: scope.mode === "d" ? "d" : "s", readOnly: scope.readOnly }, op, base as never) as never;
          }
          const ambient = currentTenant();
          if (!ambient) {
            throw new StratumError(
              "NO_TENANT_CONTEXT",
              `${model}.${operation} needs a tenant: use prisma.$tenant(id).${lowerFirst(model)}.${operation}(…) or run inside runWithTenant(id, fn).`,
              { model, operation },
            );
          }
          const request: ScopeRequest = {
            mode: ambient.descendants ? "d" : "s",
            readOnly: !!ambient.descendants,
            ...(ambient.descendants === "same-database" ? { sameDatabaseOnly: true } : {}),
          };
          const op: Operation = {
            model,
            operation,
            args,
            query: query as Operation["query"],
            __internalParams: (params as { __internalParams?: Operation["__internalParams"] }).__internalParams,
          };
          return runner.run(ambient.tenantId, request, op, base as never) as never;
        },
      },
    });
    extendedClient = stratumClient;
    return stratumClient;
  });
}
