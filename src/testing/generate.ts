/**
 * Minimal valid rows from model metadata: every required scalar without a default gets a value
 * of its type, the tenant field gets the tenant, and required relations to other tenant models
 * point at a row seeded earlier for the same tenant. Models are seeded parents first.
 */
import { randomUUID } from "node:crypto";
import type { StratumField, StratumModel, StratumModels } from "../core/models.js";

export type RowData = Record<string, unknown>;

/** Per-model data supplied by the user, merged over (and winning against) generated values. */
export type DataOverrides = Readonly<Record<string, (ctx: { tenantId: string; index: number }) => RowData>>;

export interface SeedPlan {
  /** Tenant models in creation order (parents first). */
  order: string[];
  /** Models the kit cannot seed on its own, with the reason. */
  skipped: Record<string, string>;
}

/** Scalar fields a relation fills in (`author_id` for `author`), by model. */
export function relationScalars(model: StratumModel): Set<string> {
  const out = new Set<string>();
  for (const f of model.fields) for (const name of f.relation?.fields ?? []) out.add(name);
  return out;
}

/** Required relations this model must point at (owning side, to-one). */
export function requiredParents(model: StratumModel): StratumField[] {
  return model.fields.filter((f) => f.kind === "object" && f.isRequired && !f.isList && (f.relation?.fields.length ?? 0) > 0);
}

export function planSeeding(models: StratumModels, wanted: readonly string[], overrides: DataOverrides = {}): SeedPlan {
  const tenant = new Set(models.tenantModels);
  const skipped: Record<string, string> = {};
  for (const name of wanted) {
    const model = models.models[name];
    if (!model || model.scope !== "tenant" || !model.tenantField) {
      skipped[name] = "not a tenant model";
      continue;
    }
    if (overrides[name]) continue;
    for (const f of model.fields) {
      if (f.kind === "enum" && f.isRequired && !f.hasDefault && !f.isList) skipped[name] = `enum field ${f.name} needs a value: pass options.data.${name}`;
      if (f.kind === "unsupported" && f.isRequired && !f.hasDefault) skipped[name] = `field ${f.name} has an unsupported type: pass options.data.${name}`;
    }
    for (const f of requiredParents(model)) {
      if (!tenant.has(f.relation!.model))
        skipped[name] = `required relation ${f.name} points at ${f.relation!.model}, not a tenant model: pass options.data.${name}`;
    }
  }
  // Depth-first topological order over required relations.
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, trail: string[]): boolean => {
    if (state.get(name) === "done") return true;
    if (state.get(name) === "visiting") {
      for (const m of trail.slice(trail.indexOf(name)))
        skipped[m] ??= `required relations form a cycle (${[...trail.slice(trail.indexOf(name)), name].join(" → ")}): pass options.data`;
      return false;
    }
    if (skipped[name]) return false;
    state.set(name, "visiting");
    const model = models.models[name]!;
    for (const f of requiredParents(model)) {
      const parent = f.relation!.model;
      if (parent === name) continue;
      if (!visit(parent, [...trail, name])) {
        skipped[name] ??= `its parent ${parent} cannot be seeded`;
        state.set(name, "done");
        return false;
      }
    }
    state.set(name, "done");
    order.push(name);
    return true;
  };
  for (const name of wanted) if (!skipped[name]) visit(name, []);
  return { order: order.filter((m) => !skipped[m] && wanted.includes(m)), skipped };
}

/** Parents a model's rows need, in `order`, even when the user did not ask to test them. */
export function withParents(models: StratumModels, wanted: readonly string[]): string[] {
  const out = new Set<string>();
  const add = (name: string) => {
    if (out.has(name)) return;
    out.add(name);
    const model = models.models[name];
    if (!model) return;
    for (const f of requiredParents(model)) if (models.tenantModels.includes(f.relation!.model) && f.relation!.model !== name) add(f.relation!.model);
  };
  wanted.forEach(add);
  return [...out];
}

/** A value of a scalar type; `tag` makes strings recognisable and unique. */
export function scalarValue(field: StratumField, tag: string): unknown {
  const one = (): unknown => {
    if (field.nativeType?.startsWith("Uuid")) return randomUUID();
    switch (field.type) {
      case "String":
        return field.nativeType?.startsWith("Char(")
          ? tag.slice(0, charLength(field.nativeType))
          : `${tag}_${field.name}`.slice(0, charLength(field.nativeType) ?? 200);
      case "Int":
        return 1 + Math.floor(Math.random() * 1_000_000);
      case "BigInt":
        return BigInt(1 + Math.floor(Math.random() * 1_000_000));
      case "Float":
        return 1.5;
      case "Decimal":
        return "1.5";
      case "Boolean":
        return true;
      case "DateTime":
        return new Date();
      case "Json":
        return { kit: tag };
      case "Bytes":
        return new Uint8Array([1, 2, 3]);
      default:
        return `${tag}_${field.name}`;
    }
  };
  return field.isList ? [one()] : one();
}

function charLength(nativeType: string | undefined): number | undefined {
  const m = nativeType?.match(/^(?:Var)?Char\((\d+)\)/);
  return m ? Number(m[1]) : undefined;
}

/** The data for one new row of `model` for `tenantId`, its required parents given as rows. */
export function rowData(model: StratumModel, tenantId: string, tag: string, parents: Readonly<Record<string, RowData>>, override?: RowData): RowData {
  const data: RowData = {};
  const fromRelations = relationScalars(model);
  for (const f of model.fields) {
    if (f.kind !== "scalar" || f.hasDefault || !f.isRequired || f.name === model.tenantField || fromRelations.has(f.name)) continue;
    data[f.name] = scalarValue(f, tag);
  }
  data[model.tenantField!] = tenantId;
  for (const f of requiredParents(model)) {
    const parent = parents[f.relation!.model];
    if (!parent) continue;
    f.relation!.fields.forEach((name, i) => {
      data[name] = name === model.tenantField ? tenantId : parent[f.relation!.references[i]!];
    });
  }
  return { ...data, ...override };
}

/** `where` for one row by its primary key (compound keys by Prisma's `a_b` name). */
export function primaryWhere(model: StratumModel, row: RowData): RowData | null {
  const pk = model.primaryKey;
  if (pk.length === 0) return null;
  if (pk.length === 1) return { [pk[0]!]: row[pk[0]!] };
  return { [pk.join("_")]: Object.fromEntries(pk.map((k) => [k, row[k]])) };
}

/** A scalar field an update can set without touching keys or relations (the kit writes its tag). */
export function updatableField(model: StratumModel): StratumField | undefined {
  const keys = new Set([...model.primaryKey, ...model.uniques.flatMap((u) => u.fields), ...relationScalars(model), model.tenantField ?? ""]);
  return model.fields.find(
    (f) => f.kind === "scalar" && !f.isList && !keys.has(f.name) && f.type === "String" && !f.nativeType?.startsWith("Uuid") && !f.encrypted,
  );
}
