/**
 * Prisma batches the `findUnique` calls of one tick into one statement, across every caller of a
 * client. A scoped call must never join that batch: the statement would run under one caller's
 * scope and answer the others from the wrong tenant (or not at all), so a scoped `findUnique` runs
 * as `findFirst`. This file gives the batching back within one scope: `findUnique` calls issued in
 * the same tick on the same client, for the same model and result shape, under the same scope
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
  /** The call's arguments without `where`: calls join a batch only when these are equal. */
  rest: Record<string, unknown>;
  /** `JSON.stringify(rest)`. */
  shape: string;
}

/** Runs a batch's statement: `findMany` with `args`, in `scope`. */
export type RunMany = (scope: TenantScope, args: Record<string, unknown>) => Promise<unknown>;

interface Member {
  lookup: UniqueLookup;
  resolve(row: unknown): void;
  reject(error: unknown): void;
}

interface Batch {
  scope: TenantScope;
  model: string;
  members: Member[];
  values: Set<string>;
  run: RunMany;
  runOne: () => Promise<unknown>;
}

/**
 * The lookup a `findUnique` call makes, or undefined when it must run alone. `args` are the
 * arguments as they will be sent (after model hooks).
 */
export function uniqueLookup(model: StratumModel | undefined, operation: string, args: unknown): UniqueLookup | undefined {
  if (operation !== "findUnique" || !model || !args || typeof args !== "object") return undefined;
  const { where, ...rest } = args as { where?: unknown } & Record<string, unknown>;
  if ("omit" in rest || "cacheStrategy" in rest || !where || typeof where !== "object") return undefined;
  const keys = Object.keys(where);
  if (keys.length !== 1) return undefined;
  const field = keys[0]!;
  const value = (where as Record<string, unknown>)[field];
  if (!isSingleFieldUnique(model, field) || !comparable(model, field, value)) return undefined;
  // The key must come back with each row to hand it to its caller; an explicit select may omit it.
  const select = rest.select as Record<string, unknown> | undefined;
  if (select && typeof select === "object" && select[field] !== true) return undefined;
  return { field, value: value as string | number, rest, shape: JSON.stringify(rest) };
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

/** Scopes equal in everything the driver sends: the same statement may serve all of them. */
function scopeKey(scope: TenantScope): string | undefined {
  if (scope.mode !== "s" || scope.tableSources || scope.replica || scope.resetSession) return undefined;
  return `${scope.token}\u0000${scope.strategy}\u0000${scope.searchPath}\u0000${scope.placement ?? ""}\u0000${scope.readOnly}`;
}

export class UniqueBatcher {
  /** Open batches of this tick: client → scope, model and shape → batch. */
  private readonly open = new Map<object, Map<string, Batch>>();

  /**
   * The call's row through a batch of its scope, or undefined when it cannot join one (the
   * caller then runs it alone). `runOne` runs it alone, used when it ends up the batch's only member.
   */
  join(client: object, scope: TenantScope, model: string, lookup: UniqueLookup, run: RunMany, runOne: () => Promise<unknown>): Promise<unknown> | undefined {
    const scoped = scopeKey(scope);
    if (scoped === undefined) return undefined;
    const key = `${scoped}\u0000${model}\u0000${lookup.field}\u0000${lookup.shape}`;
    let batches = this.open.get(client);
    if (!batches) {
      batches = new Map();
      this.open.set(client, batches);
      // Every call of this tick has joined by the time process.nextTick callbacks run.
      process.nextTick(() => this.flush(client));
    }
    let batch = batches.get(key);
    const value = String(lookup.value);
    // The same row asked twice runs alone: each caller gets its own object, as from Prisma.
    if (batch?.values.has(value)) return undefined;
    if (!batch || batch.members.length >= MAX_BATCH) {
      if (batch) this.send(batch);
      batch = { scope, model, members: [], values: new Set(), run, runOne };
      batches.set(key, batch);
    }
    batch.values.add(value);
    return new Promise((resolve, reject) => batch.members.push({ lookup, resolve, reject }));
  }

  private flush(client: object): void {
    const batches = this.open.get(client);
    this.open.delete(client);
    for (const batch of batches?.values() ?? []) this.send(batch);
  }

  private send(batch: Batch): void {
    const { members } = batch;
    if (members.length === 1) {
      batch.runOne().then(members[0]!.resolve, members[0]!.reject);
      return;
    }
    const first = members[0]!.lookup;
    const args = { ...first.rest, where: { [first.field]: { in: members.map((m) => m.lookup.value) } } };
    batch.run(batch.scope, args).then(
      (rows) => {
        const byValue = new Map<string, unknown>();
        for (const row of rows as Record<string, unknown>[]) byValue.set(String(row[first.field]), row);
        for (const m of members) m.resolve(byValue.get(String(m.lookup.value)) ?? null);
      },
      (error: unknown) => {
        for (const m of members) m.reject(error);
      },
    );
  }
}
