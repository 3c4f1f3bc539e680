/**
 * Running operations in a tenant's scope: the ambient form (`runWithTenant` + plain model calls),
 * `tx.$tenant(id)` inside interactive transactions, and the rules every scoped call shares
 * (read-only views, batch claims, findUnique → findFirst, model hooks). `$tenant(id)` on the app
 * client is built in scoped-proxy.ts on top of these. The adapter does the rest.
 */
import { rethrowRetyped } from "../core/driver-errors.js";
import { StratumError } from "../core/errors.js";
import { assertNoNul } from "../core/validate.js";
import { guardRoute } from "../isolation/route-guard.js";
import { hasHomeBatches, readInBatches, tooWide } from "../isolation/descendants-batches.js";
import { currentScope, runInScope, type TenantScope } from "../isolation/scope.js";
import { withSpan } from "../telemetry/index.js";
import type { ModelHooks } from "./model-hooks.js";
import { isWriteOperation, uniqueToFirst } from "./operations.js";
import type { StratumRuntime } from "./runtime.js";

import type { ScopeRequest } from "../isolation/strategy.js";
export type { ScopeRequest };

export interface Operation {
  model?: string;
  operation: string;
  args: unknown;
  query: (args: unknown) => PromiseLike<unknown>;
  /** Prisma's request details; `dataPath` is set on fluent calls (`["select", "tickets"]`). */
  __internalParams?: { dataPath?: readonly string[]; transaction?: { kind?: string; id?: number | string } };
}

type Delegates = Record<string, Record<string, (args: unknown) => PromiseLike<unknown>>>;

export class ScopedRunner {
  private readonly tenantModels: Set<string>;
  /** Batch transaction id → the scope its first operation claimed. */
  private readonly batches = new Map<number | string, string>();

  constructor(
    private readonly runtime: StratumRuntime,
    private readonly hooks: ModelHooks,
  ) {
    this.tenantModels = new Set(runtime.models.tenantModels);
  }

  isTenantModel(model: string | undefined): model is string {
    return !!model && this.tenantModels.has(model);
  }

  /**
   * Runs one operation for a tenant. Standalone calls resolve the scope; calls inside the scoped
   * client's own $transaction find it already set and run as they are.
   */
  run(tenantId: string, request: ScopeRequest, op: Operation, delegates: Delegates): Promise<unknown> {
    return this.runScoped(tenantId, request, op, delegates).catch(rethrowRetyped);
  }

  private async runScoped(tenantId: string, request: ScopeRequest, op: Operation, delegates: Delegates): Promise<unknown> {
    assertNoNul(op.args, () => `${op.model ?? "raw"}.${op.operation} arguments`);
    this.claimBatch(tenantId, request, op);
    const write = isWriteOperation(op.operation);
    const existing = currentScope();
    if (existing && existing.tenantId === tenantId && existing.mode === request.mode) {
      if (write && existing.readOnly) throw readOnly(tenantId);
      if (!op.model) return runInScope(rawScope(existing), () => this.invoke(existing, op, () => op.query(op.args)));
      return this.invoke(existing, op, () => op.query(this.before(op, existing)));
    }
    if (write && request.readOnly) throw readOnly(tenantId);
    await this.runtime.ready();
    const wanted = { ...request, write };
    const routed = this.runtime.router.cachedScope(tenantId, wanted) ?? (await this.runtime.router.scope(tenantId, wanted));
    const batched = op.__internalParams?.transaction?.kind === "batch";
    if (batched || routed.mode !== "s") return this.runIn(routed, op, delegates);
    // A call that raced an isolation move runs again in the tenant's new home (route-guard.ts).
    return guardRoute(
      this.runtime.router,
      routed,
      write,
      (s) => this.runIn(s, op, delegates),
      () => this.runtime.router.scope(tenantId, wanted),
    );
  }

  private runIn(routed: TenantScope, op: Operation, delegates: Delegates): Promise<unknown> {
    const scope = op.model ? routed : rawScope(routed);
    return runInScope(scope, () =>
      this.invoke(scope, op, () => {
        if (op.model && hasHomeBatches(scope)) return this.acrossHomeBatches(scope, op, delegates);
        // Prisma batches findUnique calls of one tick into one statement, across callers: for a
        // scoped call that would mix tenants, so it runs as the equivalent findFirst instead.
        const first = this.isTenantModel(op.model) ? uniqueToFirst(this.runtime.models, op.model, op.operation, op.args) : null;
        if (first) {
          // A fluent call (`findUnique(…).tickets()`) comes back from findFirst still wrapped in
          // its parent row; unwrap it along Prisma's data path as op.query would have.
          const path = op.__internalParams?.dataPath ?? [];
          return Promise.resolve(delegates[lowerFirst(op.model!)]![first.operation]!(this.before({ ...op, args: first.args }, scope))).then((result) =>
            unpackDataPath(result, path),
          );
        }
        return op.query(this.before(op, scope));
      }),
    );
  }

  /**
   * A descendants view over more homes than one statement may lock: the read runs once per batch
   * of homes on the base client's delegate and is assembled in descendants-batches.ts, or refused
   * there (DESCENDANTS_TOO_WIDE) before any statement when its shape cannot be assembled.
   */
  private acrossHomeBatches(scope: TenantScope, op: Operation, delegates: Delegates): Promise<unknown> {
    const model = op.model!;
    const first = uniqueToFirst(this.runtime.models, model, op.operation, op.args);
    if ((op.__internalParams?.dataPath ?? []).length > 0 || first?.operation === "findFirstOrThrow") {
      return Promise.reject(tooWide(scope, { model }, `${op.operation} (a fluent or OrThrow read)`));
    }
    const delegate = delegates[lowerFirst(model)]!;
    return readInBatches(scope, {
      model,
      operation: first?.operation ?? op.operation,
      args: this.before({ ...op, args: first?.args ?? op.args }, scope),
      fields: this.runtime.models.models[model]?.fields ?? [],
      run: (batch, operation, args) => runInScope(batch, () => delegate[operation]!(args)),
    });
  }

  /**
   * Prisma runs a batch `$transaction([...])` later, in one async context (its first operation's),
   * so every statement of the batch would carry that operation's scope: a batch mixing tenants
   * (or tenants and unscoped statements) would read and write the first one's rows for all of
   * them. Such a batch is refused. `tenantId` undefined claims the batch for unscoped statements.
   */
  claimBatch(tenantId: string | undefined, request: ScopeRequest | undefined, op: Pick<Operation, "__internalParams">): void {
    const tx = op.__internalParams?.transaction;
    if (tx?.kind !== "batch" || tx.id === undefined) return;
    const key = tenantId ? `${tenantId}:${request?.mode}:${request?.readOnly}` : "unscoped";
    const claimed = this.batches.get(tx.id);
    if (claimed === undefined) {
      this.batches.set(tx.id, key);
      setTimeout(() => this.batches.delete(tx.id!), 60_000).unref();
      return;
    }
    if (claimed !== key) {
      const name = (k: string) => (k === "unscoped" ? "unscoped statements" : `tenant ${k.split(":")[0]}`);
      throw new StratumError(
        "TENANT_SCOPE_VIOLATION",
        `A batch $transaction([...]) runs on one connection in one scope; it cannot hold ${name(claimed)} and ${name(key)}. Use one batch per tenant, or an interactive transaction with tx.$tenant(id).`,
      );
    }
  }

  private before(op: Operation, scope: TenantScope): unknown {
    return this.hooks.active && op.model ? this.hooks.beforeOperation(op.model, op.operation, op.args, scope) : op.args;
  }

  private invoke(scope: TenantScope, op: Operation, fn: () => PromiseLike<unknown>): Promise<unknown> {
    const name = `stratum.${op.model ? `${op.model}.` : ""}${op.operation}`;
    return withSpan(name, { tenantId: scope.tenantId, isolationStrategy: scope.strategy }, async () => {
      const result = await fn();
      return this.hooks.active && op.model ? this.hooks.afterOperation(op.model, op.operation, result, scope) : result;
    });
  }

  /**
   * `tx.$tenant(id)` inside an interactive transaction: the transaction client cannot be
   * extended, so each call is wrapped instead (no batching or laziness to preserve there).
   */
  transactionClient(tx: unknown, tenantId: string, request: ScopeRequest): unknown {
    const runner = this;
    const wrap =
      (fn: (...a: unknown[]) => PromiseLike<unknown>, thisArg: unknown, operation: string) =>
      async (...args: unknown[]) => {
        if (request.readOnly && isWriteOperation(operation)) throw readOnly(tenantId);
        await runner.runtime.ready();
        const scope = await runner.runtime.router.scope(tenantId, { ...request, write: isWriteOperation(operation) });
        return runInScope(operation.startsWith("$") ? rawScope(scope) : scope, () => Promise.resolve(fn.apply(thisArg, args)));
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
}

/** Raw SQL may change session settings; its statements get them reset in the same round trip. */
function rawScope(scope: TenantScope): TenantScope {
  return { ...scope, resetSession: true };
}

export function readOnly(tenantId: string): StratumError {
  return new StratumError(
    "READ_ONLY_SCOPE",
    `The descendants view of tenant ${tenantId} is read-only; pass { descendants: true, writable: true } or write through prisma.$tenant(childId).`,
    { tenantId },
  );
}

/** Follows a fluent data path (`select`/`include` steps skipped) into a result; null when absent. */
export function unpackDataPath(result: unknown, path: readonly string[]): unknown {
  let value = result;
  for (const key of path) {
    if (key === "select" || key === "include") continue;
    if (value === null || value === undefined) return null;
    value = (value as Record<string, unknown>)[key];
  }
  return value === undefined ? null : value;
}

export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
