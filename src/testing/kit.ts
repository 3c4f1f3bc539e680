/**
 * The isolation kit: seeds two tenants with rows of every tenant model, then, from each tenant,
 * aims every vector at the other's rows and reports what got through. Framework-agnostic: it
 * returns a report, and `assertTenantIsolation` throws an Error naming model and vector.
 */
import { randomBytes } from "node:crypto";
import { StratumError } from "../core/errors.js";
import type { StratumModel, StratumModels } from "../core/models.js";
import type { IsolationStrategyName } from "../core/types.js";
import { planSeeding, primaryWhere, requiredParents, rowData, updatableField, withParents, type DataOverrides, type RowData } from "./generate.js";

export type IsolationVector = "noContext" | "list" | "count" | "findUniqueForeignId" | "update" | "delete" | "nested" | "raw";

export const ISOLATION_VECTORS: readonly IsolationVector[] = ["noContext", "list", "count", "findUniqueForeignId", "update", "delete", "nested", "raw"];

/** The part of a stratum-extended client the kit uses. */
export interface TenantIsolationClient {
  $tenant(tenantId: string): unknown;
}

export interface TenantIsolationOptions {
  /** Two existing tenants to test with. Default: the kit creates two through `$stratum.createTenant` and deletes them after. */
  tenants?: readonly [string, string];
  /** Strategy of the tenants the kit creates. Default SHARED_RLS. */
  strategy?: IsolationStrategyName;
  /** Tenant models to test (Prisma names). Default: every tenant model. */
  models?: readonly string[];
  /** Vectors to run. Default: all of ISOLATION_VECTORS. */
  vectors?: readonly IsolationVector[];
  /** Rows per model per tenant. Default 2. */
  rowsPerModel?: number;
  /** Values for fields the kit cannot invent (enums, relations to global models, check constraints). */
  data?: DataOverrides;
  /** Remove the seeded rows (and created tenants) afterwards. Default true. */
  cleanup?: boolean;
}

export interface VectorResult {
  model: string;
  vector: IsolationVector;
  /** Which tenant attacked: "a" (the first) or "b". */
  from: "a" | "b";
  ok: boolean;
  /** What got through, when not ok. */
  message?: string;
}

export interface TenantIsolationReport {
  ok: boolean;
  tenants: readonly [string, string];
  /** Models seeded and attacked. */
  tested: string[];
  /** Models that could not be seeded, with the reason (pass options.data to include them). */
  skipped: Record<string, string>;
  results: VectorResult[];
  failures: VectorResult[];
}

/** Thrown by `assertTenantIsolation`; `report` holds every result. */
export class TenantIsolationError extends Error {
  override readonly name = "TenantIsolationError";
  constructor(readonly report: TenantIsolationReport) {
    super(
      `Tenant isolation broken in ${report.failures.length} case(s):\n` +
        report.failures.map((f) => `  ${f.model} × ${f.vector} (from tenant ${f.from}): ${f.message}`).join("\n"),
    );
  }
}

interface Delegate {
  create(args: { data: RowData }): PromiseLike<RowData>;
  findMany(args?: object): PromiseLike<RowData[]>;
  findUnique(args: object): PromiseLike<RowData | null>;
  findFirst(args: object): PromiseLike<RowData | null>;
  count(args?: object): PromiseLike<number>;
  update(args: object): PromiseLike<RowData>;
  updateMany(args: object): PromiseLike<{ count: number }>;
  delete(args: object): PromiseLike<RowData>;
  deleteMany(args: object): PromiseLike<{ count: number }>;
}

interface Scoped {
  $queryRawUnsafe<T>(sql: string, ...values: unknown[]): PromiseLike<T>;
}

interface StratumServices {
  createTenant(input: { name: string; isolation_strategy?: IsolationStrategyName }): PromiseLike<{ id: string }>;
  deleteTenant(id: string, options?: { cascade?: boolean }): PromiseLike<unknown>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** Runs every vector and returns the report; never throws for an isolation failure. */
export async function checkTenantIsolation(
  prisma: TenantIsolationClient,
  models: StratumModels,
  options: TenantIsolationOptions = {},
): Promise<TenantIsolationReport> {
  const wanted = options.models ?? models.tenantModels;
  const vectors = new Set(options.vectors ?? ISOLATION_VECTORS);
  const perModel = Math.max(1, options.rowsPerModel ?? 2);
  const seedModels = withParents(models, wanted);
  const plan = planSeeding(models, seedModels, options.data);
  const created: string[] = [];
  const services = (prisma as { $stratum?: StratumServices }).$stratum;
  let tenants: readonly [string, string];
  if (options.tenants) {
    tenants = options.tenants;
  } else {
    if (!services?.createTenant)
      throw new StratumError(
        "VALIDATION_FAILED",
        "stratum-prisma/testing: pass options.tenants, or a client extended with stratum() so the kit can create two tenants.",
      );
    const tag = randomBytes(3).toString("hex");
    for (const label of ["a", "b"]) {
      const t = await services.createTenant({ name: `isolation kit ${label} ${tag}`, isolation_strategy: options.strategy ?? "SHARED_RLS" });
      created.push(t.id);
    }
    tenants = [created[0]!, created[1]!];
  }

  const scoped = (tenantId: string) => prisma.$tenant(tenantId) as Scoped & Record<string, unknown>;
  const delegate = (tenantId: string, model: string) => scoped(tenantId)[lowerFirst(model)] as Delegate;
  const seeded: Record<string, [RowData[], RowData[]]> = {};
  const results: VectorResult[] = [];
  const record = (model: string, vector: IsolationVector, from: "a" | "b", problem: string | undefined) =>
    results.push({ model, vector, from, ok: !problem, ...(problem ? { message: problem } : {}) });

  try {
    // Seed: parents first, for both tenants.
    for (const name of plan.order) {
      const model = models.models[name]!;
      seeded[name] = [[], []];
      for (const [side, tenantId] of tenants.entries()) {
        for (let index = 0; index < perModel; index++) {
          const parents: Record<string, RowData> = {};
          for (const f of requiredParents(model)) {
            const rows = seeded[f.relation!.model]?.[side];
            if (rows?.length) parents[f.relation!.model] = rows[index % rows.length]!;
          }
          const tag = `kit_${randomBytes(5).toString("hex")}`;
          const data = rowData(model, tenantId, tag, parents, options.data?.[name]?.({ tenantId, index }));
          seeded[name]![side as 0 | 1].push(await delegate(tenantId, name).create({ data }));
        }
      }
    }

    const tested = plan.order.filter((m) => wanted.includes(m));
    for (const name of tested) {
      const model = models.models[name]!;
      for (const side of [0, 1] as const) {
        const from = side === 0 ? "a" : "b";
        const self = tenants[side];
        const other = tenants[1 - side]!;
        const theirs = seeded[name]![(1 - side) as 0 | 1];
        const mine = seeded[name]![side];
        const d = delegate(self, name);
        const secrets = collectSecrets(theirs, model);
        const check = async (vector: IsolationVector, fn: () => Promise<string | undefined>) => {
          if (!vectors.has(vector)) return;
          let problem: string | undefined;
          try {
            problem = await fn();
          } catch (error) {
            problem = `unexpected error: ${(error as Error)?.message ?? String(error)}`;
          }
          record(name, vector, from, problem);
        };

        await check("noContext", async () => {
          const base = (prisma as unknown as Record<string, Delegate>)[lowerFirst(name)];
          if (!base) return `the client has no ${lowerFirst(name)} delegate`;
          const outcome = await settle(base.findMany());
          if (outcome.ok)
            return foreignRows(outcome.value, model, "") ?? (outcome.value.length ? `unscoped findMany returned ${outcome.value.length} row(s)` : undefined);
          return leaked(outcome.error, secrets);
        });

        await check("list", async () => {
          const rows = await d.findMany();
          return foreignRows(rows, model, self) ?? missing(rows, mine, model) ?? contains(rows, secrets);
        });

        await check("count", async () => {
          const total = await d.count();
          const listed = (await d.findMany()).length;
          if (total !== listed) return `count() ${total} but findMany() ${listed}`;
          const where = anyOf(model, theirs);
          if (where) {
            const n = await d.count({ where });
            if (n !== 0) return `count({ where: their keys }) = ${n}`;
          }
          return undefined;
        });

        await check("findUniqueForeignId", async () => {
          for (const row of theirs) {
            const where = primaryWhere(model, row);
            if (!where) return undefined;
            const found = await d.findUnique({ where });
            if (found) return `findUnique found tenant ${other}'s row ${JSON.stringify(where)}`;
            const first = await d.findFirst({ where: flatten(where) });
            if (first) return `findFirst found tenant ${other}'s row ${JSON.stringify(where)}`;
          }
          return undefined;
        });

        await check("update", async () => {
          const field = updatableField(model);
          const data: RowData = field ? { [field.name]: `kit_pwned_${from}` } : { [model.tenantField!]: self };
          const where = anyOf(model, theirs);
          if (where) {
            const many = await d.updateMany({ where, data });
            if (many.count !== 0) return `updateMany changed ${many.count} of tenant ${other}'s rows`;
          }
          const first = primaryWhere(model, theirs[0]!);
          if (first) {
            const one = await settle(d.update({ where: first, data }));
            if (one.ok) return `update changed tenant ${other}'s row ${JSON.stringify(first)}`;
            const leak = leaked(one.error, secrets);
            if (leak) return leak;
          }
          // Moving one of our rows into the other tenant must fail too.
          const own = primaryWhere(model, mine[0]!);
          if (own) {
            const move = await settle(d.update({ where: own, data: { [model.tenantField!]: other } }));
            if (move.ok) return `update moved a row into tenant ${other}`;
          }
          return untouched(delegate(other, name), model, theirs);
        });

        await check("delete", async () => {
          const where = anyOf(model, theirs);
          if (where) {
            const many = await d.deleteMany({ where });
            if (many.count !== 0) return `deleteMany removed ${many.count} of tenant ${other}'s rows`;
          }
          const first = primaryWhere(model, theirs[0]!);
          if (first) {
            const one = await settle(d.delete({ where: first }));
            if (one.ok) return `delete removed tenant ${other}'s row ${JSON.stringify(first)}`;
            const leak = leaked(one.error, secrets);
            if (leak) return leak;
          }
          return untouched(delegate(other, name), model, theirs);
        });

        await check("nested", async () => {
          const relations = model.fields.filter((f) => f.kind === "object" && models.tenantModels.includes(f.relation?.model ?? ""));
          if (relations.length === 0) return undefined;
          const include = Object.fromEntries(relations.map((f) => [f.name, true]));
          const rows = await d.findMany({ include });
          const foreign = foreignDeep(rows, self, models);
          if (foreign) return `include returned ${foreign}`;
          const secret = contains(rows, secrets);
          if (secret) return secret;
          // A new row connected to the other tenant's parent must be refused.
          for (const f of requiredParents(model)) {
            const parents = seeded[f.relation!.model]?.[(1 - side) as 0 | 1];
            const parentModel = models.models[f.relation!.model];
            if (!parents?.length || !parentModel) continue;
            const where = primaryWhere(parentModel, parents[0]!);
            if (!where) continue;
            const data = rowData(model, self, `kit_${randomBytes(4).toString("hex")}`, {}, options.data?.[name]?.({ tenantId: self, index: 99 }));
            for (const k of f.relation!.fields) if (k !== model.tenantField) delete data[k];
            delete data[model.tenantField!];
            const attempt = await settle(d.create({ data: { ...data, [f.name]: { connect: where } } }));
            if (attempt.ok) {
              await settle(d.delete({ where: primaryWhere(model, attempt.value)! }));
              return `create connected ${f.name} to tenant ${other}'s ${f.relation!.model} (the row got tenant ${String(attempt.value[model.tenantField!])})`;
            }
            const leak = leaked(attempt.error, collectSecrets(parents, parentModel));
            if (leak) return leak;
          }
          return undefined;
        });

        await check("raw", async () => {
          if (!IDENT.test(model.table) || !IDENT.test(model.tenantColumn ?? "")) return undefined;
          const s = scoped(self);
          const rows = await s.$queryRawUnsafe<Array<{ t: string }>>(`SELECT "${model.tenantColumn}"::text AS t FROM "${model.table}"`);
          const wrong = rows.filter((r) => r.t !== self);
          if (wrong.length) return `raw SELECT returned ${wrong.length} row(s) of tenant(s) ${[...new Set(wrong.map((r) => r.t))].join(", ")}`;
          if (rows.length < mine.length) return `raw SELECT returned ${rows.length} row(s), fewer than the ${mine.length} seeded`;
          const n = await s.$queryRawUnsafe<Array<{ n: number }>>(
            `SELECT count(*)::int AS n FROM "${model.table}" WHERE "${model.tenantColumn}"::text = $1`,
            other,
          );
          if (Number(n[0]?.n ?? 0) !== 0) return `raw WHERE tenant = other counted ${n[0]?.n}`;
          return undefined;
        });
      }
    }

    const failures = results.filter((r) => !r.ok);
    return { ok: failures.length === 0, tenants, tested, skipped: plan.skipped, results, failures };
  } finally {
    if (options.cleanup !== false) {
      for (const name of [...plan.order].reverse()) {
        const model = models.models[name]!;
        for (const [side, tenantId] of tenants.entries()) {
          const where = anyOf(model, seeded[name]?.[side as 0 | 1] ?? []);
          if (where) await settle(delegate(tenantId, name).deleteMany({ where }));
        }
      }
      for (const id of created) await settle(services!.deleteTenant(id, { cascade: true }));
    }
  }
}

/** Like `checkTenantIsolation`, but throws a TenantIsolationError naming model and vector of every failure. */
export async function assertTenantIsolation(
  prisma: TenantIsolationClient,
  models: StratumModels,
  options: TenantIsolationOptions = {},
): Promise<TenantIsolationReport> {
  const report = await checkTenantIsolation(prisma, models, options);
  if (!report.ok) throw new TenantIsolationError(report);
  if (report.tested.length === 0) {
    throw new StratumError("VALIDATION_FAILED", `stratum-prisma/testing: no tenant model could be seeded: ${JSON.stringify(report.skipped)}`, {
      skipped: report.skipped,
    });
  }
  return report;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function settle<T>(p: PromiseLike<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

function flatten(where: RowData): RowData {
  const out: RowData = {};
  for (const [k, v] of Object.entries(where)) {
    if (v && typeof v === "object" && !(v instanceof Date) && !Array.isArray(v)) Object.assign(out, v);
    else out[k] = v;
  }
  return out;
}

/** `where` matching any of `rows` by primary key. */
function anyOf(model: StratumModel, rows: readonly RowData[]): RowData | null {
  if (rows.length === 0 || model.primaryKey.length === 0) return null;
  if (model.primaryKey.length === 1) {
    const k = model.primaryKey[0]!;
    return { [k]: { in: rows.map((r) => r[k]) } };
  }
  return { OR: rows.map((r) => Object.fromEntries(model.primaryKey.map((k) => [k, r[k]]))) };
}

function keyOf(model: StratumModel, row: RowData): string {
  return JSON.stringify(model.primaryKey.map((k) => stringify(row[k])));
}

function stringify(v: unknown): string {
  return typeof v === "bigint" ? v.toString() : v instanceof Date ? v.toISOString() : typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** Distinctive values of the other tenant's rows: generated strings and primary keys. */
function collectSecrets(rows: readonly RowData[], model: StratumModel): string[] {
  const out = new Set<string>();
  for (const row of rows) {
    for (const k of model.primaryKey) out.add(stringify(row[k]));
    for (const [k, v] of Object.entries(row)) if (typeof v === "string" && v.startsWith("kit_") && k !== model.tenantField) out.add(v);
  }
  return [...out].filter((s) => s.length >= 8);
}

function render(value: unknown): string {
  if (value instanceof Error) {
    const e = value as Error & { meta?: unknown };
    return `${e.message}\n${safeJson(e.meta)}`;
  }
  return safeJson(value);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "";
  } catch {
    return String(value);
  }
}

function leaked(error: unknown, secrets: readonly string[]): string | undefined {
  const text = render(error);
  const hit = secrets.find((s) => text.includes(s));
  return hit ? `an error revealed the other tenant's value ${JSON.stringify(hit)}: ${text.slice(0, 200)}` : undefined;
}

function contains(value: unknown, secrets: readonly string[]): string | undefined {
  const text = render(value);
  const hit = secrets.find((s) => text.includes(s));
  return hit ? `the result carries the other tenant's value ${JSON.stringify(hit)}` : undefined;
}

function foreignRows(rows: readonly RowData[], model: StratumModel, self: string): string | undefined {
  const wrong = rows.filter((r) => r[model.tenantField!] !== self);
  return wrong.length ? `${wrong.length} row(s) of tenant(s) ${[...new Set(wrong.map((r) => String(r[model.tenantField!])))].join(", ")}` : undefined;
}

function missing(rows: readonly RowData[], mine: readonly RowData[], model: StratumModel): string | undefined {
  const have = new Set(rows.map((r) => keyOf(model, r)));
  const lost = mine.filter((r) => !have.has(keyOf(model, r)));
  return lost.length ? `${lost.length} of the tenant's own seeded rows are missing from findMany` : undefined;
}

/** Any nested object carrying a tenant field of another tenant. */
function foreignDeep(value: unknown, self: string, models: StratumModels): string | undefined {
  const fields = new Set(models.tenantModels.map((m) => models.models[m]!.tenantField!));
  let found: string | undefined;
  const walk = (v: unknown) => {
    if (found) return;
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object" && !(v instanceof Date)) {
      for (const [k, x] of Object.entries(v)) {
        if (fields.has(k) && typeof x === "string" && x !== self) found = `a nested row of tenant ${x}`;
        else walk(x);
      }
    }
  };
  walk(value);
  return found;
}

async function untouched(owner: Delegate, model: StratumModel, theirs: readonly RowData[]): Promise<string | undefined> {
  for (const row of theirs) {
    const where = primaryWhere(model, row);
    if (!where) return undefined;
    const now = await owner.findUnique({ where });
    if (!now) return `tenant's row ${JSON.stringify(where)} disappeared`;
    for (const [k, v] of Object.entries(row)) {
      if (typeof v === "string" && now[k] !== v) return `tenant's row ${JSON.stringify(where)} changed: ${k} is now ${JSON.stringify(now[k])}`;
    }
  }
  return undefined;
}
