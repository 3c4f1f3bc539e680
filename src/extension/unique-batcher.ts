/**
 * Prisma batches the `findUnique` calls of one tick into one statement, across every caller of a
 * client. A scoped call must never join that batch: the statement would run under one caller's
 * scope and answer the others from the wrong tenant (or not at all), so a scoped `findUnique` runs
 * as `findFirst`. This file gives the batching back within one scope: `findUnique` calls issued in
 * the same round of microtasks on the same client, for the same model and result shape, under the same scope
 * (tenant, signed token, home), become one `findMany({ where: { <key>: { in: [...] } } })` whose
 * rows are handed back by that key's value. Calls of different scopes never share a statement.
 *
 * A call joins a batch only when nothing about it can differ from the row lookup: a plain
 * `findUnique` (not OrThrow), a `where` of exactly one single-field unique key with a string or
 * number value, no `omit`, no Accelerate `cacheStrategy`, outside transactions and fluent chains.
 * Everything else runs alone, as before. A batch of one runs as the `findFirst` it was.
 */
import type { StratumModel } from "../core/models.js";
import type { TenantScope } from "../isolation/scope.js";

/** Most rows one batched statement asks for (Prisma's own batches are unbounded; the IN list is not free). */
const MAX_BATCH = 100;

/** Canonical UUID text, as PostgreSQL returns it: other spellings would not match the returned rows. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What one batchable call asks for. */
export interface UniqueLookup {
  /** The unique field the `where` names. */
  field: string;
  value: string | number;
  /** The call's arguments as sent (after model hooks). */
  args: Record<string, unknown>;
}

/** Runs a batch's statement: `findMany` with `args`, in `scope`. */
export type RunMany = (scope: TenantScope, args: Record<string, unknown>) => Promise<unknown>;

/** One call waiting for the end of this round of microtasks. */
interface Pending {
  scope: TenantScope;
  model: string;
  lookup: UniqueLookup;
  run: RunMany;
  runOne: () => Promise<unknown>;
  resolve(row: unknown): void;
  reject(error: unknown): void;
}

/**
 * The lookup a `findUnique` call makes, or undefined when it must run alone. `args` are the
 * arguments as they will be sent (after model hooks). Kept cheap: every scoped findUnique asks.
 */
export function uniqueLookup(model: StratumModel | undefined, operation: string, args: unknown): UniqueLookup | undefined {
  if (operation !== "findUnique" || !model || !args || typeof args !== "object") return undefined;
  const given = args as Record<string, unknown>;
  const where = given.where;
  if ("omit" in given || "cacheStrategy" in given || !where || typeof where !== "object") return undefined;
  let field: string | undefined;
  for (const key in where) {
    if (field !== undefined) return undefined;
    field = key;
  }
  if (field === undefined) return undefined;
  const value = (where as Record<string, unknown>)[field];
  if (!isSingleFieldUnique(model, field) || !comparable(model, field, value)) return undefined;
  // The key must come back with each row to hand it to its caller; an explicit select may omit it.
  const select = given.select as Record<string, unknown> | undefined;
  if (select && typeof select === "object" && select[field] !== true) return undefined;
  return { field, value: value as string | number, args: given };
}

function isSingleFieldUnique(model: StratumModel, field: string): boolean {
  if (model.primaryKey.length === 1 && model.primaryKey[0] === field) return true;
  return model.uniques.some((u) => u.fields.length === 1 && u.fields[0] === field);
}

/** Values whose text compares equal in JavaScript exactly when PostgreSQL's `=` matches them. */
function comparable(model: StratumModel, field: string, value: unknown): boolean {
  const meta = model.fields.find((f) => f.name === field);
  if (!meta || meta.isList) return false;
  if (meta.type === "Int") return typeof value === "number" && Number.isSafeInteger(value);
  if (meta.type !== "String" || typeof value !== "string") return false;
  // citext and friends compare case-insensitively: a row would not be found by its caller's spelling.
  if (meta.nativeType === undefined || /^(Text|VarChar|Char)\b/.test(meta.nativeType)) return true;
  return meta.nativeType === "Uuid" && CANONICAL_UUID.test(value);
}

/**
 * Whether a call could join a batch at all, before model hooks run on its arguments: a scope
 * batches are keyed by, and a `where` of one field. Spares a call that will run alone the hooks'
 * work twice (once here, once on the findFirst path).
 */
export function mayBatch(scope: TenantScope, args: unknown): boolean {
  if (!batchable(scope) || !args || typeof args !== "object") return false;
  const where = (args as { where?: unknown }).where;
  if (!where || typeof where !== "object") return false;
  let keys = 0;
  for (const _ in where) if (++keys > 1) return false;
  return keys === 1;
}

/** A scope whose statements may serve other calls of an equal scope (keyOfScope). */
function batchable(scope: TenantScope): boolean {
  return scope.mode === "s" && !scope.tableSources && !scope.replica && !scope.resetSession;
}

/**
 * Scopes equal in everything the driver sends: the same statement may serve all of them. Built
 * only when a round holds more than one call: a lone call (the common case) needs no key.
 */
function keyOfScope(scope: TenantScope): string {
  return `${scope.token}\u0000${scope.strategy}\u0000${scope.searchPath}\u0000${scope.placement ?? ""}\u0000${scope.readOnly}`;
}

/** The arguments besides `where`, as text: calls join one statement only when these are equal. */
function shapeOf(args: Record<string, unknown>): string {
  const { where: _where, ...rest } = args;
  return JSON.stringify(rest);
}

export class UniqueBatcher {
  /** Calls of this round, per client they run on. */
  private readonly pending = new Map<object, Pending[]>();

  /**
   * The call's row through a batch of its scope, or undefined when it cannot join one (the
   * caller then runs it alone). `runOne` runs it alone, used when it ends up the only one of its
   * kind this round — so a lone call pays no grouping work, only the wait for the round to end.
   */
  join(client: object, scope: TenantScope, model: string, lookup: UniqueLookup, run: RunMany, runOne: () => Promise<unknown>): Promise<unknown> | undefined {
    if (!batchable(scope)) return undefined;
    let calls = this.pending.get(client);
    if (!calls) {
      calls = [];
      this.pending.set(client, calls);
      // Calls issued in this round of microtasks join before it runs (callers resumed together
      // by one batch's answer come back together); a microtask, not process.nextTick, so a lone
      // call waits for no more than the promises already queued (nextTick measured ≈ 30 µs slower).
      queueMicrotask(() => this.flush(client));
    }
    const list = calls;
    return new Promise((resolve, reject) => list.push({ scope, model, lookup, run, runOne, resolve, reject }));
  }

  private flush(client: object): void {
    const calls = this.pending.get(client) ?? [];
    this.pending.delete(client);
    if (calls.length === 1) {
      alone(calls[0]!);
      return;
    }
    const groups = new Map<string, Pending[]>();
    for (const call of calls) {
      const key = `${keyOfScope(call.scope)}\u0000${call.model}\u0000${call.lookup.field}\u0000${shapeOf(call.lookup.args)}`;
      const group = groups.get(key);
      if (group) group.push(call);
      else groups.set(key, [call]);
    }
    for (const group of groups.values()) {
      const values = new Set<string>();
      let batch: Pending[] = [];
      for (const call of group) {
        const value = String(call.lookup.value);
        // The same row asked twice runs alone: each caller gets its own object, as from Prisma.
        if (values.has(value)) {
          alone(call);
          continue;
        }
        values.add(value);
        batch.push(call);
        if (batch.length === MAX_BATCH) {
          send(batch);
          batch = [];
        }
      }
      if (batch.length) send(batch);
    }
  }
}

function alone(call: Pending): void {
  call.runOne().then(call.resolve, call.reject);
}

/** One findMany for the batch's calls (one scope, model and shape); each caller gets its row or null. */
function send(batch: Pending[]): void {
  if (batch.length === 1) {
    alone(batch[0]!);
    return;
  }
  const first = batch[0]!;
  const { field } = first.lookup;
  const args = { ...first.lookup.args, where: { [field]: { in: batch.map((c) => c.lookup.value) } } };
  first.run(first.scope, args).then(
    (rows) => {
      const byValue = new Map<string, unknown>();
      for (const row of rows as Record<string, unknown>[]) byValue.set(String(row[field]), row);
      for (const call of batch) call.resolve(byValue.get(String(call.lookup.value)) ?? null);
    },
    (error: unknown) => {
      for (const call of batch) call.reject(error);
    },
  );
}
