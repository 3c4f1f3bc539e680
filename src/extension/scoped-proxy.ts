/**
 * `$tenant(id)` without a Prisma query extension. Prisma's `$extends({ query })` machinery costs
 * ~0.08 ms per operation; this client is a Proxy over the parent client whose model delegates and
 * raw methods return lazy PrismaPromise-compatible objects. Awaited, one resolves the tenant's
 * scope and runs the parent's own operation inside it (`runInScope`), with what ScopedRunner.run
 * applies: read-only refusal, batch claiming, `runtime.ready()`, the router's cached scope,
 * findUnique → findFirst, model hooks (field encryption), raw statements marked `resetSession`,
 * telemetry spans.
 *
 * Prisma's promise contract kept: nothing runs until then/catch/finally (and once, however often
 * awaited); `[Symbol.toStringTag]` is "PrismaPromise" and `requestTransaction(tx)` hands the
 * statement to a batch `$transaction([...])`; fluent relation calls (`findUnique(…).tickets()`)
 * run as the root operation with the relation selected, unwrapped along the data path.
 */
import { rethrowRetyped } from "../core/driver-errors.js";
import type { StratumModels } from "../core/models.js";
import { assertNoNul } from "../core/validate.js";
import { guardRoute } from "../isolation/route-guard.js";
import { onReplica } from "../isolation/replica.js";
import { currentScope, runInScope, type TenantScope } from "../isolation/scope.js";
import { isTracingEnabled, withSpan } from "../telemetry/index.js";
import { scopeCacheStrategy } from "./accelerate.js";
import type { ModelHooks } from "./model-hooks.js";
import { isWriteOperation, MODEL_OPERATIONS, uniqueToFirst } from "./operations.js";
import type { StratumRuntime } from "./runtime.js";
import { hasHomeBatches, readInBatches, tooWide } from "../isolation/descendants-batches.js";
import { mayBatch, UniqueBatcher, uniqueLookup } from "./unique-batcher.js";
import { lowerFirst, readOnly, unpackDataPath, type ScopedRunner, type ScopeRequest } from "./scoped.js";

type Fn = (...args: unknown[]) => unknown;
type Obj = Record<string | symbol, unknown>;

/** What Prisma hands `requestTransaction` in a batch `$transaction([...])`. */
interface BatchTransaction {
  kind?: string;
  id?: number | string;
}

interface PrismaPromiseLike<T = unknown> extends PromiseLike<T> {
  requestTransaction?(tx: BatchTransaction): PromiseLike<T>;
}

/** One client's tenant, the scope it asks for, and what its operations run on (a client or a tx). */
interface Ctx {
  tenantId: string;
  request: ScopeRequest;
  target: Obj;
  /** `request` for a read and for a write, made once per client rather than spread on every call. */
  reads: ScopeRequest & { write: false };
  writes: ScopeRequest & { write: true };
}

function contextOf(tenantId: string, request: ScopeRequest, target: Obj): Ctx {
  return { tenantId, request, target, reads: { ...request, write: false }, writes: { ...request, write: true } };
}

/** One operation: a model's (`key` its delegate) or a raw method's (`key` the method, args the arguments). */
interface Call {
  model: string | undefined;
  key: string;
  operation: string;
  args: unknown;
  /** Fluent calls: where the asked-for relation sits in the root operation's result. */
  dataPath: readonly string[];
}

const NO_PATH: readonly string[] = [];

const RAW_METHODS = new Set(["$queryRaw", "$executeRaw", "$queryRawUnsafe", "$executeRawUnsafe", "$queryRawTyped"]);

/** Operations whose promise offers fluent relation calls (Prisma's list). */
const FLUENT_OPERATIONS = new Set(["findUnique", "findUniqueOrThrow", "findFirst", "findFirstOrThrow", "create", "update", "upsert", "delete"]);

/** The lazy operation: a PrismaPromise look-alike. */
class ScopedPromise implements PrismaPromiseLike {
  #result: Promise<unknown> | undefined;

  constructor(
    readonly clients: ScopedClients,
    readonly ctx: Ctx,
    readonly call: Call,
  ) {}

  get [Symbol.toStringTag](): string {
    return "PrismaPromise";
  }

  get spec(): { action: string; args: unknown; model: string | undefined } {
    return { action: this.call.operation, args: this.call.args, model: this.call.model };
  }

  private result(): Promise<unknown> {
    return (this.#result ??= this.clients.execute(this.ctx, this.call, undefined).catch(rethrowRetyped));
  }

  then<A = unknown, B = never>(
    onfulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result().then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<unknown> {
    return this.result().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<unknown> {
    return this.result().finally(onfinally);
  }

  /** Called by a batch `$transaction([...])` instead of then: the statement joins the batch. */
  requestTransaction(tx: BatchTransaction): Promise<unknown> {
    return this.clients.execute(this.ctx, this.call, tx).catch(rethrowRetyped);
  }

  /** `findUnique(…).tickets(args)`: the same root operation, selecting the relation. */
  fluent(field: string, model: string, args: unknown): ScopedPromise {
    const path = [...this.call.dataPath, "select", field];
    const nested = setPath((this.call.args ?? {}) as Obj, path, args || true);
    return this.clients.lazy(this.ctx, { ...this.call, args: nested, dataPath: path }, model);
  }
}

/** Prisma's fluent argument nesting: a copy of `args` with `value` set at `path`. */
function setPath(args: Obj, path: readonly string[], value: unknown): unknown {
  let acc = value;
  for (let i = path.length - 1; i >= 0; i--) {
    let at: unknown = args;
    for (let j = 0; j < i && at; j++) at = (at as Obj)[path[j]!];
    acc = Object.assign({}, at, { [path[i]!]: acc });
  }
  return acc;
}

export class ScopedClients {
  private readonly models: StratumModels;
  /** Model name → lazy-promise class exposing its relation fields as fluent methods. */
  private readonly fluentClasses = new Map<string, typeof ScopedPromise>();
  private readonly delegateNames = new Map<string, string>();
  private readyPassed = false;
  private readonly batcher = new UniqueBatcher();

  constructor(
    private readonly runtime: StratumRuntime,
    private readonly hooks: ModelHooks,
    private readonly runner: ScopedRunner,
  ) {
    this.models = runtime.models;
    for (const name of Object.keys(this.models.models)) this.delegateNames.set(lowerFirst(name), name);
  }

  /** `$tenant(id)` on the app client. */
  client(parent: unknown, tenantId: string, request: ScopeRequest): unknown {
    return this.proxy(contextOf(tenantId, request, parent as Obj));
  }

  private proxy(ctx: Ctx): unknown {
    const clients = this;
    const cache = new Map<string | symbol, unknown>();
    return new Proxy(ctx.target, {
      get(target, prop) {
        const hit = cache.get(prop);
        if (hit !== undefined) return hit;
        const made = clients.member(ctx, prop);
        if (made !== undefined) {
          cache.set(prop, made);
          return made;
        }
        return Reflect.get(target, prop);
      },
    });
  }

  /** The scoped form of a client member, or undefined for members passed through as they are. */
  private member(ctx: Ctx, prop: string | symbol): unknown {
    if (typeof prop !== "string") return undefined;
    if (prop === "$transaction") return this.transaction(ctx);
    if (prop === "$extends") {
      const extend = Reflect.get(ctx.target, prop) as Fn | undefined;
      if (typeof extend !== "function") return undefined;
      return (...args: unknown[]) => this.proxy({ ...ctx, target: extend.apply(ctx.target, args) as Obj });
    }
    if (RAW_METHODS.has(prop)) {
      if (typeof Reflect.get(ctx.target, prop) !== "function") return undefined;
      return (...args: unknown[]) => new ScopedPromise(this, ctx, { model: undefined, key: prop, operation: prop, args, dataPath: NO_PATH });
    }
    if (prop.startsWith("$") || prop.startsWith("_")) return undefined;
    const delegate = Reflect.get(ctx.target, prop) as Obj | undefined;
    if (!delegate || typeof delegate !== "object" || typeof delegate.findMany !== "function") return undefined;
    const model = this.delegateNames.get(prop) ?? (typeof delegate.name === "string" ? delegate.name : undefined);
    if (!model) return undefined;
    const methods = new Map<string, Fn>();
    for (const operation of MODEL_OPERATIONS) {
      methods.set(operation, (args?: unknown) =>
        this.lazy(ctx, { model, key: prop, operation, args, dataPath: NO_PATH }, FLUENT_OPERATIONS.has(operation) ? model : undefined),
      );
    }
    return new Proxy(delegate, {
      get(target, method) {
        return (typeof method === "string" && methods.get(method)) || Reflect.get(target, method);
      },
    });
  }

  /** A lazy operation; with `fluentModel`, one offering that model's relations as fluent calls. */
  lazy(ctx: Ctx, call: Call, fluentModel: string | undefined): ScopedPromise {
    const Lazy = fluentModel ? this.fluentClass(fluentModel) : ScopedPromise;
    return new Lazy(this, ctx, call);
  }

  private fluentClass(model: string): typeof ScopedPromise {
    let cls = this.fluentClasses.get(model);
    if (!cls) {
      cls = class extends ScopedPromise {};
      for (const field of this.models.models[model]?.fields ?? []) {
        if (field.kind !== "object") continue;
        Object.defineProperty(cls.prototype, field.name, {
          value(this: ScopedPromise, args?: unknown) {
            return this.fluent(field.name, field.type, args);
          },
          configurable: true,
          writable: true,
        });
      }
      this.fluentClasses.set(model, cls);
    }
    return cls;
  }

  /** `$tenant(id).$transaction(…)`: runs in the tenant's scope; an interactive tx stays scoped. */
  private transaction(ctx: Ctx): unknown {
    const start = Reflect.get(ctx.target, "$transaction") as Fn | undefined;
    if (typeof start !== "function") return undefined;
    return async (arg: unknown, options?: unknown) => {
      await this.runtime.ready();
      const scope = await this.runtime.router.scope(ctx.tenantId, ctx.request.readOnly ? ctx.reads : ctx.writes);
      // The batch's statements join it (requestTransaction) in this scope, so they are recognised as
      // this tenant's; the callback's tx calls likewise, on the transaction's own client.
      const input = typeof arg === "function" ? (tx: unknown, ...rest: unknown[]) => (arg as Fn)(this.proxy({ ...ctx, target: tx as Obj }), ...rest) : arg;
      return runInScope(scope, () => Promise.resolve(start.call(ctx.target, input, options)));
    };
  }

  /** Runs one operation (in batch `tx` when given), as ScopedRunner.run does for the query hook. */
  execute(ctx: Ctx, call: Call, tx: BatchTransaction | undefined): Promise<unknown> {
    try {
      // PostgreSQL cannot store U+0000: refused here, typed, rather than as 22021 from the driver.
      assertNoNul(call.args, () => `${call.model ?? "raw"}.${call.operation} arguments`);
      if (tx) this.runner.claimBatch(ctx.tenantId, ctx.request, { __internalParams: { transaction: tx } });
      const write = isWriteOperation(call.operation);
      const existing = currentScope();
      if (existing && existing.tenantId === ctx.tenantId && existing.mode === ctx.request.mode) {
        // Inside this tenant's $transaction (or a scope set for it): run as it is.
        if (write && existing.readOnly) throw readOnly(ctx.tenantId);
        if (!call.model) return runInScope(rawScope(existing), () => this.invoke(ctx, existing, call, call.operation, call.args, tx));
        return this.invoke(ctx, existing, call, call.operation, this.before(call, call.args, existing), tx);
      }
      if (write && ctx.request.readOnly) throw readOnly(ctx.tenantId);
      const wanted = write ? ctx.writes : ctx.reads;
      // A standalone call that raced an isolation move runs again in the tenant's new home (a batch
      // cannot be re-run statement by statement; its statements fail or return as they are).
      const run = (home: TenantScope) => {
        // Replica reads: standalone ones only (a batch is a transaction, and runs on the primary).
        const routed = ctx.request.replica && !write && !tx ? onReplica(home, ctx.request.replica) : home;
        return tx || routed.mode !== "s"
          ? this.inScope(ctx, routed, call, tx)
          : guardRoute(
              this.runtime.router,
              routed,
              write,
              (s) => this.inScope(ctx, s, call, tx),
              () => this.runtime.router.scope(ctx.tenantId, wanted),
            );
      };
      const cached = this.readyPassed ? this.runtime.router.cachedScope(ctx.tenantId, wanted) : undefined;
      if (cached) return run(cached);
      return this.resolve(ctx, wanted).then(run);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async resolve(ctx: Ctx, wanted: ScopeRequest & { write: boolean }): Promise<TenantScope> {
    await this.runtime.ready();
    this.readyPassed = true;
    return this.runtime.router.cachedScope(ctx.tenantId, wanted) ?? (await this.runtime.router.scope(ctx.tenantId, wanted));
  }

  private inScope(ctx: Ctx, routed: TenantScope, call: Call, tx: BatchTransaction | undefined): Promise<unknown> {
    const scope = call.model ? routed : rawScope(routed);
    if (call.model && hasHomeBatches(scope)) return this.acrossHomeBatches(ctx, scope, { ...call, model: call.model }, tx);
    if (!tx && call.operation === "findUnique" && call.dataPath.length === 0 && this.runner.isTenantModel(call.model) && mayBatch(scope, call.args)) {
      const batched = this.batchedUnique(ctx, scope, { ...call, model: call.model! });
      if (batched) return batched;
    }
    return runInScope(scope, () => {
      // Prisma batches same-tick findUnique calls into one statement, across callers: for a
      // scoped call that would mix tenants, so it runs as the equivalent findFirst instead
      // (batchedUnique batches them again, within one scope).
      const first = this.runner.isTenantModel(call.model) ? uniqueToFirst(this.models, call.model, call.operation, call.args) : null;
      if (first) return this.invoke(ctx, scope, call, first.operation, this.before(call, first.args, scope), tx);
      return this.invoke(ctx, scope, call, call.operation, this.before(call, call.args, scope), tx);
    });
  }

  /**
   * A findUnique joining this round's other findUnique calls of the same scope, model and shape
   * (unique-batcher.ts); undefined when it cannot join one.
   */
  private batchedUnique(ctx: Ctx, scope: TenantScope, call: Call & { model: string }): Promise<unknown> | undefined {
    const args = this.before(call, call.args, scope);
    const lookup = uniqueLookup(this.models.models[call.model], call.operation, args);
    if (!lookup) return undefined;
    const many: Call = { ...call, operation: "findMany" };
    return this.batcher.join(
      ctx.target,
      scope,
      call.model,
      lookup,
      (s, manyArgs) => runInScope(s, () => this.invoke(ctx, s, many, "findMany", manyArgs, undefined)),
      // Alone, it runs as the findFirst it always was (its where is one field: nothing to unfold).
      () => runInScope(scope, () => this.invoke(ctx, scope, call, "findFirst", args, undefined)),
    );
  }

  /**
   * A descendants view over more homes than one statement may lock: one statement per batch of
   * homes, assembled (or refused before any statement) in descendants-batches.ts. A transaction
   * would hold every batch's locks until it ends, so there the view is refused too.
   */
  private acrossHomeBatches(ctx: Ctx, scope: TenantScope, call: Call & { model: string }, tx: BatchTransaction | undefined): Promise<unknown> {
    const first = uniqueToFirst(this.models, call.model, call.operation, call.args);
    if (tx || call.dataPath.length > 0 || first?.operation === "findFirstOrThrow") {
      return Promise.reject(tooWide(scope, call, `${call.operation} (in a transaction, fluent or OrThrow)`));
    }
    return readInBatches(scope, {
      model: call.model,
      operation: first?.operation ?? call.operation,
      args: this.before(call, first?.args ?? call.args, scope),
      fields: this.models.models[call.model]?.fields ?? [],
      run: (batch, operation, args) => runInScope(batch, () => this.invoke(ctx, batch, call, operation, args, undefined)),
    });
  }

  private before(call: Call, args: unknown, scope: TenantScope): unknown {
    return this.hooks.active && call.model ? this.hooks.beforeOperation(call.model, call.operation, args, scope) : args;
  }

  /** Issues the parent's operation (`operation` may be the converted one) and post-processes it. */
  private invoke(ctx: Ctx, scope: TenantScope, call: Call, operation: string, given: unknown, tx: BatchTransaction | undefined): Promise<unknown> {
    // Accelerate's cacheStrategy, made tenant-safe (tenant in the where, tags prefixed): accelerate.ts.
    const args = call.model ? scopeCacheStrategy(this.models, call.model, operation, given, scope.tenantId) : given;
    const issue = () => {
      const target = ctx.target;
      // Prisma records where each model call came from (a `new Error()` whose stack V8 walks
      // eagerly, optimized frames decoded one by one) to point its error messages at the caller's
      // line. Issued from here, in a later microtask, that stack holds only stratum's frames: the
      // walk cost 7 % of a scoped findMany's Node instructions and 16 % of a findUnique's
      // (bench:instructions) and named nothing of the application's. So the parent's operation
      // is issued with no stack to record.
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      let promise: PrismaPromiseLike;
      try {
        promise = (
          call.model ? ((target[call.key] as Obj)[operation] as Fn)(args) : (target[call.key] as Fn).apply(target, args as unknown[])
        ) as PrismaPromiseLike;
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
      const issued = tx ? requestIn(promise, tx) : promise;
      const hooked = this.hooks.active && call.model !== undefined;
      const path = call.dataPath;
      if (!hooked && path.length === 0) return issued.then() as Promise<unknown>;
      return issued.then((result) => {
        // Model hooks see the root operation's whole result (relations walked by metadata); a
        // fluent call then gets the relation it asked for.
        const after = hooked ? this.hooks.afterOperation(call.model!, call.operation, result, scope) : result;
        return path.length === 0 ? after : unpackDataPath(after, path);
      }) as Promise<unknown>;
    };
    // With no tracer registered, not even the span's name and attributes are built.
    if (!isTracingEnabled()) return issue();
    return withSpan(`stratum.${call.model ? `${call.model}.` : ""}${call.operation}`, { tenantId: scope.tenantId, isolationStrategy: scope.strategy }, issue);
  }
}

function requestIn(promise: PrismaPromiseLike, tx: BatchTransaction): PromiseLike<unknown> {
  if (typeof promise.requestTransaction !== "function") return promise;
  return promise.requestTransaction(tx);
}

/** Raw SQL may change session settings; its statements get them reset in the same round trip. */
function rawScope(scope: TenantScope): TenantScope {
  return { ...scope, resetSession: true };
}
