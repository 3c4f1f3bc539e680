/**
 * Reads of a descendants view whose subtree has more homes than one statement may visit
 * (descendants.ts, `homeBatchSize()`): one statement per batch of homes, one after another, so a
 * call never holds more than one batch's locks, and the results assembled here.
 *
 * - `count`: the batches' counts, summed.
 * - `findMany` / `findFirst` (and `findUnique`, which the runner turns into `findFirst`): each
 *   batch returns its first `skip + take` rows in the requested order; the union of those holds
 *   the page, which is sorted here and cut. Ordering follows PostgreSQL's for the scalar types it
 *   compares bytewise (numbers, dates, booleans, uuids, bytes, and text under the C / C.UTF-8
 *   collations stratum's databases use).
 *
 * Everything else (aggregate, groupBy, cursors, distinct, negative take, ordering by a relation,
 * an enum or JSON) cannot be assembled from per-batch answers without re-implementing SQL: it is
 * refused with DESCENDANTS_TOO_WIDE before any statement runs.
 */
import { StratumError } from "../core/errors.js";
import type { StratumField } from "../core/models.js";
import type { DescendantScope } from "./descendants.js";
import type { TenantScope } from "./scope.js";

type Obj = Record<string, unknown>;

export interface BatchedRead {
  model: string;
  operation: string;
  args: unknown;
  /** The model's fields, to know how a column orders. */
  fields: readonly StratumField[];
  /** Runs `operation` with `args` under `scope` (whose sources read one batch of homes). */
  run: (scope: TenantScope, operation: string, args: unknown) => PromiseLike<unknown>;
}

/** True when the scope's subtree spans more homes than one statement may read. */
export function hasHomeBatches(scope: TenantScope): boolean {
  return ((scope as DescendantScope).homeBatches?.length ?? 0) > 1;
}

export async function readInBatches(scope: TenantScope, read: BatchedRead): Promise<unknown> {
  const batches = (scope as DescendantScope).homeBatches ?? [];
  const args = (read.args ?? {}) as Obj;
  const each = async (operation: string, a: unknown): Promise<unknown[]> => {
    const out: unknown[] = [];
    for (const tableSources of batches) out.push(await read.run({ ...scope, tableSources }, operation, a));
    return out;
  };
  switch (read.operation) {
    case "count":
      for (const key of ["skip", "take", "cursor"]) if (args[key] !== undefined) throw tooWide(scope, read, `count with ${key}`);
      return sumCounts(await each("count", args));
    case "findMany":
      return findPage(scope, read, args, each);
    case "findFirst": {
      const rows = await findPage(scope, read, { ...args, take: 1 }, each);
      return rows[0] ?? null;
    }
    default:
      throw tooWide(scope, read, read.operation);
  }
}

function sumCounts(results: unknown[]): unknown {
  if (results.every((r) => typeof r === "number")) return (results as number[]).reduce((a, b) => a + b, 0);
  const total: Record<string, number> = {};
  for (const r of results as Array<Record<string, number>>) for (const [k, v] of Object.entries(r)) total[k] = (total[k] ?? 0) + v;
  return total;
}

interface OrderKey {
  field: string;
  desc: boolean;
  nullsFirst: boolean;
  compare: (a: unknown, b: unknown) => number;
}

async function findPage(scope: TenantScope, read: BatchedRead, args: Obj, each: (op: string, a: unknown) => Promise<unknown[]>): Promise<Obj[]> {
  for (const key of ["cursor", "distinct"]) if (args[key] !== undefined) throw tooWide(scope, read, `${read.operation} with ${key}`);
  const take = args["take"] as number | undefined;
  const skip = (args["skip"] as number | undefined) ?? 0;
  if (take !== undefined && take < 0) throw tooWide(scope, read, `${read.operation} with a negative take`);
  const order = orderKeys(scope, read, args["orderBy"]);
  const { args: perBatch, strip } = withOrderFields(args, order);
  delete perBatch["skip"];
  if (take !== undefined) perBatch["take"] = skip + take;
  const rows = (await each("findMany", perBatch)).flat() as Obj[];
  if (order.length > 0) rows.sort((a, b) => compareRows(order, a, b));
  const page = rows.slice(skip, take === undefined ? undefined : skip + take);
  if (strip.length > 0) for (const row of page) for (const f of strip) delete row[f];
  return page;
}

function compareRows(order: readonly OrderKey[], a: Obj, b: Obj): number {
  for (const key of order) {
    const x = a[key.field];
    const y = b[key.field];
    if (x === y) continue;
    if (x === null || x === undefined) return key.nullsFirst ? -1 : 1;
    if (y === null || y === undefined) return key.nullsFirst ? 1 : -1;
    const c = key.compare(x, y);
    if (c !== 0) return key.desc ? -c : c;
  }
  return 0;
}

/** `orderBy` as keys with comparators; refuses what cannot be compared as PostgreSQL does. */
function orderKeys(scope: TenantScope, read: BatchedRead, orderBy: unknown): OrderKey[] {
  if (orderBy === undefined) return [];
  const items = (Array.isArray(orderBy) ? orderBy : [orderBy]) as Obj[];
  return items.flatMap((item) =>
    Object.entries(item).map(([field, value]) => {
      const meta = read.fields.find((f) => f.name === field);
      const compare = meta?.kind === "scalar" ? comparator(meta.type) : undefined;
      const spec = typeof value === "string" ? { sort: value } : (value as { sort?: string; nulls?: string });
      if (!compare || (spec.sort !== "asc" && spec.sort !== "desc")) throw tooWide(scope, read, `${read.operation} ordered by ${field}`);
      const desc = spec.sort === "desc";
      // PostgreSQL's default: NULLS LAST ascending, NULLS FIRST descending.
      return { field, desc, nullsFirst: spec.nulls ? spec.nulls === "first" : desc, compare };
    }),
  );
}

const utf8 = (s: string) => Buffer.from(s, "utf8");

function comparator(type: string): ((a: unknown, b: unknown) => number) | undefined {
  switch (type) {
    case "String":
      // C collation: byte order of the UTF-8 text (JS's own < compares UTF-16 units).
      return (a, b) => Buffer.compare(utf8(a as string), utf8(b as string));
    case "Int":
    case "Float":
      return (a, b) => (a as number) - (b as number);
    case "BigInt":
      return (a, b) => ((a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0);
    case "DateTime":
      return (a, b) => (a as Date).getTime() - (b as Date).getTime();
    case "Boolean":
      return (a, b) => Number(a) - Number(b);
    case "Decimal":
      return (a, b) => (a as { comparedTo(o: unknown): number }).comparedTo(b);
    case "Bytes":
      return (a, b) => Buffer.compare(Buffer.from(a as Uint8Array), Buffer.from(b as Uint8Array));
    default:
      return undefined;
  }
}

/** The args with every order field selected; `strip` lists those the caller did not ask for. */
function withOrderFields(args: Obj, order: readonly OrderKey[]): { args: Obj; strip: string[] } {
  const copy: Obj = { ...args };
  const strip: string[] = [];
  const select = args["select"] as Obj | undefined;
  const omit = args["omit"] as Obj | undefined;
  for (const { field } of order) {
    if (select && !select[field]) {
      copy["select"] = { ...(copy["select"] as Obj), [field]: true };
      strip.push(field);
    } else if (omit?.[field]) {
      copy["omit"] = { ...(copy["omit"] as Obj), [field]: false };
      strip.push(field);
    }
  }
  return { args: copy, strip };
}

/** The refusal, for callers that know the shape is out before building a read (fluent calls, transactions). */
export function tooWide(scope: TenantScope, read: Pick<BatchedRead, "model">, shape: string): StratumError {
  const homes = (scope as DescendantScope).homeBatches?.length ?? 0;
  return new StratumError(
    "DESCENDANTS_TOO_WIDE",
    `The descendants view of tenant ${scope.tenantId} spans more homes than one statement may read (${homes} batches), ` +
      `and ${read.model}.${shape} cannot be assembled across them. Use count, or findMany/findFirst/findUnique ordered by scalar fields ` +
      `without cursor or distinct; or query the clients one by one with prisma.$tenant(childId).`,
    { tenantId: scope.tenantId, model: read.model, shape },
  );
}
