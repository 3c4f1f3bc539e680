/**
 * The generator's pure core: DMMF in, model metadata + the metadata module source + the security
 * SQL out. No file system, no Prisma process: `generators/bin.ts` does the I/O, tests call this.
 *
 * Classification (docs/architecture.md §3): a model documented `/// @stratum.global` is global; otherwise a
 * model with a `tenant_id` / `tenantId` field is tenant-scoped; anything else is refused, so a new
 * model is never silently unscoped. Tenant models are further checked against docs/architecture.md §4 rule 2 (an index
 * leading with the tenant column) and rule 5 (uniques and foreign keys between tenant tables carry
 * the tenant column).
 */
import { createHash } from "node:crypto";
import type { DMMF } from "@prisma/generator-helper";
import type { StratumField, StratumModel, StratumModels, StratumUnique } from "../src/core/models.js";
import { citusSql, type CitusTenantTable } from "./sql/citus.js";
import { securitySql } from "../src/sql/security.js";

export interface GenerateStratumOptions {
  /** The role the application connects as. Default "stratum_app". */
  appRole?: string;
  /** Module the emitted metadata imports `StratumModels` from. Default "stratum-prisma". */
  runtimeImport?: string;
  /**
   * The strict form of docs/architecture.md §4 rule 5: the tenant column in every primary key of
   * a tenant table too, not only in its uniques (closes the `id`-alone existence oracle; Citus
   * needs it). Default false.
   */
  strictKeys?: boolean;
  /** Also emit the Citus distribution script (`citusSql`); implies strictKeys. Default false. */
  citus?: boolean;
}

export interface GenerateStratumResult {
  models: StratumModels;
  /** TypeScript source of `<output>/index.ts`. Empty when `errors` is non-empty. */
  metadataSource: string;
  /** The security migration's SQL. Empty when `errors` is non-empty. */
  securitySql: string;
  /** The Citus distribution script, when asked for (`citus`) and nothing was refused. */
  citusSql?: string;
  /** Every refusal, one message each. Non-empty means: do not write anything. */
  errors: string[];
}

export const DEFAULT_APP_ROLE = "stratum_app";
export const DEFAULT_RUNTIME_IMPORT = "stratum-prisma";

const TENANT_FIELD_NAMES = ["tenant_id", "tenantId"] as const;
const KNOWN_MODEL_TAGS = new Set(["global", "audit"]);
const KNOWN_FIELD_TAGS = new Set(["encrypted", "subject"]);
/** Stratum's own tables that the scope functions and triggers in the security SQL need. */
const REQUIRED_STRATUM_TABLES = ["stratum_tenants", "stratum_scope_keys", "stratum_scope_tokens"] as const;
const APPEND_ONLY_TABLES = ["stratum_audit"] as const;

type DmmfModel = DMMF.Model;
type DmmfField = DMMF.Field;

/** `@stratum.<tag>` occurrences in a doc comment. */
function stratumTags(documentation: string | undefined): string[] {
  if (!documentation) return [];
  return [...documentation.matchAll(/@stratum\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? "");
}

function tableOf(model: DmmfModel): string {
  return model.dbName ?? model.name;
}

function columnOf(field: DmmfField): string {
  return field.dbName ?? field.name;
}

function nativeTypeOf(field: DmmfField): string | undefined {
  if (!field.nativeType) return undefined;
  const [name, args] = field.nativeType;
  return args.length > 0 ? `${name}(${args.join(", ")})` : name;
}

function findTenantField(model: DmmfModel): DmmfField | undefined {
  const scalars = model.fields.filter((f) => f.kind === "scalar");
  for (const name of TENANT_FIELD_NAMES) {
    const field = scalars.find((f) => f.name === name);
    if (field) return field;
  }
  // A renamed field mapped onto a tenant_id column counts too.
  return scalars.find((f) => f.dbName === "tenant_id");
}

interface IndexInfo {
  type: "id" | "unique" | "normal" | "fulltext";
  name?: string;
  fields: string[];
}

/** Indexes of a model: from `datamodel.indexes` when present, else from the model's own lists. */
function indexesOf(model: DmmfModel, datamodel: DMMF.Datamodel): IndexInfo[] {
  const listed = (datamodel.indexes ?? []).filter((i) => i.model === model.name);
  if (listed.length > 0) {
    return listed.map((i) => ({
      type: i.type,
      ...(i.name ? { name: i.name } : {}),
      fields: i.fields.map((f) => f.name),
    }));
  }
  const result: IndexInfo[] = [];
  const idFields = model.primaryKey?.fields ?? model.fields.filter((f) => f.isId).map((f) => f.name);
  if (idFields.length > 0) result.push({ type: "id", fields: [...idFields] });
  for (const f of model.fields) if (f.isUnique) result.push({ type: "unique", fields: [f.name] });
  for (const u of model.uniqueIndexes) result.push({ type: "unique", ...(u.name ? { name: u.name } : {}), fields: [...u.fields] });
  return result;
}

function describeConstraint(index: IndexInfo): string {
  const fields = index.fields.join(", ");
  if (index.type === "id") return `@@id([${fields}])`;
  if (index.fields.length === 1 && !index.name) return `@unique on ${fields} (or @@unique([${fields}]))`;
  return `@@unique([${fields}])${index.name ? ` "${index.name}"` : ""}`;
}

function buildField(field: DmmfField, encrypted: boolean, subject: boolean): StratumField {
  const nativeType = nativeTypeOf(field);
  const relation =
    field.kind === "object"
      ? {
          name: field.relationName ?? "",
          model: field.type,
          fields: [...(field.relationFromFields ?? [])],
          references: [...(field.relationToFields ?? [])],
        }
      : undefined;
  return {
    name: field.name,
    column: columnOf(field),
    type: field.type,
    isList: field.isList,
    isRequired: field.isRequired,
    isId: field.isId,
    hasDefault: field.hasDefaultValue,
    kind: field.kind,
    ...(nativeType !== undefined ? { nativeType } : {}),
    ...(encrypted ? { encrypted: true } : {}),
    ...(subject ? { subject: true } : {}),
    ...(relation ? { relation } : {}),
  };
}

/** Sort object keys recursively so the hash does not depend on property order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function generateStratum(dmmf: DMMF.Document, options: GenerateStratumOptions = {}): GenerateStratumResult {
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  const runtimeImport = options.runtimeImport ?? DEFAULT_RUNTIME_IMPORT;
  const strictKeys = options.strictKeys === true || options.citus === true;
  const datamodel = dmmf.datamodel;
  const errors: string[] = [];
  const unclassified: string[] = [];
  const models: Record<string, StratumModel> = {};
  const tenantFieldOf = new Map<string, DmmfField>();

  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(appRole)) {
    errors.push(`appRole ${JSON.stringify(appRole)} is not a plain SQL identifier.`);
  }

  // Pass 1: classify, so relation checks know which side is tenant-scoped.
  const scopes = new Map<string, "tenant" | "global">();
  for (const model of datamodel.models) {
    const tags = stratumTags(model.documentation);
    for (const tag of tags) {
      if (!KNOWN_MODEL_TAGS.has(tag)) {
        errors.push(`Model ${model.name}: unknown doc tag @stratum.${tag} (known on models: @stratum.global, @stratum.audit).`);
      }
    }
    const tenantField = findTenantField(model);
    if (tags.includes("global")) {
      scopes.set(model.name, "global");
    } else if (tenantField) {
      scopes.set(model.name, "tenant");
      tenantFieldOf.set(model.name, tenantField);
    } else {
      unclassified.push(model.name);
    }
  }
  if (unclassified.length > 0) {
    errors.push(
      `Cannot classify model${unclassified.length > 1 ? "s" : ""} ${unclassified.join(", ")}: ` +
        `every model must be tenant-scoped or explicitly global. Add a \`tenant_id String @db.Uuid\` field ` +
        `(with an index leading with it) to scope it to a tenant, or put \`/// @stratum.global\` on the line above ` +
        `\`model ${unclassified[0]}\` to share it across all tenants.`,
    );
  }

  // Pass 2: metadata and the tenant-model rules.
  for (const model of datamodel.models) {
    const scope = scopes.get(model.name);
    if (!scope) continue;
    const table = tableOf(model);
    const indexes = indexesOf(model, datamodel);

    if (model.schema && model.schema !== "public") {
      errors.push(`Model ${model.name}: lives in schema "${model.schema}"; stratum's security SQL covers the public schema only.`);
    }

    const fields: StratumField[] = [];
    const encryptedFields: string[] = [];
    const subjectFields: string[] = [];
    for (const field of model.fields) {
      const tags = stratumTags(field.documentation);
      for (const tag of tags) {
        if (!KNOWN_FIELD_TAGS.has(tag)) {
          errors.push(`Model ${model.name}, field ${field.name}: unknown doc tag @stratum.${tag} (known on fields: @stratum.encrypted, @stratum.subject).`);
        }
      }
      const encrypted = tags.includes("encrypted");
      const subject = tags.includes("subject");
      if (encrypted) {
        if (field.kind !== "scalar" || field.type !== "String" || field.isList) {
          errors.push(
            `Model ${model.name}, field ${field.name}: @stratum.encrypted needs a String field (it stores ciphertext), not ${field.type}${field.isList ? "[]" : ""}.`,
          );
        } else if (indexes.some((i) => i.fields.includes(field.name))) {
          errors.push(`Model ${model.name}, field ${field.name}: @stratum.encrypted fields cannot be part of an index or unique (ciphertext is randomized).`);
        }
        if (scope === "global") {
          errors.push(
            `Model ${model.name}, field ${field.name}: @stratum.encrypted is supported on tenant-scoped models only (the AAD binds each value to its tenant); keep secrets of global models out of the table or scope the model to a tenant.`,
          );
        }
        encryptedFields.push(field.name);
      }
      if (subject) {
        if (field.kind !== "scalar") errors.push(`Model ${model.name}, field ${field.name}: @stratum.subject must be on a scalar field.`);
        subjectFields.push(field.name);
      }
      fields.push(buildField(field, encrypted, subject));
    }
    if (subjectFields.length > 1) {
      errors.push(`Model ${model.name}: @stratum.subject is on ${subjectFields.join(", ")}; mark exactly one field.`);
    }

    const primaryKey = model.primaryKey?.fields ? [...model.primaryKey.fields] : model.fields.filter((f) => f.isId).map((f) => f.name);
    const uniques: StratumUnique[] = indexes.filter((i) => i.type === "unique").map((i) => ({ ...(i.name ? { name: i.name } : {}), fields: i.fields }));

    const tenantField = tenantFieldOf.get(model.name);
    if (scope === "tenant" && tenantField) {
      const tf = tenantField.name;
      if (!tenantField.isRequired || tenantField.isList || tenantField.type !== "String" || tenantField.nativeType?.[0] !== "Uuid") {
        errors.push(
          `Model ${model.name}: tenant field ${tf} must be declared \`${tf} String @db.Uuid\` (required, uuid) so the RLS policy can compare it with tenant ids.`,
        );
      }
      for (const index of indexes) {
        // A single-column @id is the documented trade-off of rule 5, unless strictKeys closes it.
        const isConstraint = index.type === "unique" || (index.type === "id" && (index.fields.length > 1 || strictKeys));
        if (isConstraint && index.type === "id" && index.fields.length === 1 && !index.fields.includes(tf)) {
          errors.push(strictKeyError(model.name, tf, index.fields[0]!, options.citus === true));
        } else if (isConstraint && !index.fields.includes(tf)) {
          errors.push(
            `Model ${model.name}: ${describeConstraint(index)} does not include ${tf}. ` +
              `Uniques of tenant tables must include the tenant column (docs/architecture.md §4 rule 5), e.g. @@unique([${[tf, ...index.fields].join(", ")}]).`,
          );
        }
      }
      if (!indexes.some((i) => i.fields[0] === tf)) {
        errors.push(
          `Model ${model.name}: no index leads with ${tf} (docs/architecture.md §4 rule 2). Add @@index([${tf}]) or a unique/index whose first field is ${tf}.`,
        );
      }
      for (const field of model.fields) {
        if (field.kind !== "object") continue;
        const from = field.relationFromFields ?? [];
        if (from.length === 0) continue; // back-relation: checked on the side holding the key
        const target = field.type;
        const targetTenant = tenantFieldOf.get(target);
        if (scopes.get(target) !== "tenant" || !targetTenant) continue;
        const to = field.relationToFields ?? [];
        const position = from.indexOf(tf);
        if (position < 0 || to[position] !== targetTenant.name) {
          errors.push(
            `Model ${model.name}: relation ${field.name} -> ${target} (fields: [${from.join(", ")}], references: [${to.join(", ")}]) ` +
              `does not carry the tenant column (docs/architecture.md §4 rule 5). Use @relation(fields: [${tf}, ${from.filter((f) => f !== tf).join(", ")}], ` +
              `references: [${targetTenant.name}, ${to.filter((f) => f !== targetTenant.name).join(", ")}]) and a @@unique([${targetTenant.name}, …]) on ${target}.`,
          );
        }
      }
    }

    const subjectField = subjectFields[0];
    models[model.name] = {
      name: model.name,
      table,
      scope,
      ...(scope === "tenant" && tenantField ? { tenantField: tenantField.name, tenantColumn: columnOf(tenantField) } : {}),
      primaryKey,
      uniques,
      fields,
      audited: stratumTags(model.documentation).includes("audit"),
      encryptedFields,
      ...(subjectField !== undefined ? { subjectField } : {}),
    };
  }

  const tables = new Set(Object.values(models).map((m) => m.table));
  const missing = REQUIRED_STRATUM_TABLES.filter((t) => !tables.has(t));
  if (missing.length > 0) {
    errors.push(
      `The schema has no ${missing.join(", ")} table${missing.length > 1 ? "s" : ""}: run \`stratum init\` to add stratum's models (stratum.prisma) to the schema folder.`,
    );
  }
  for (const name of REQUIRED_STRATUM_TABLES) {
    const model = Object.values(models).find((m) => m.table === name);
    if (model && model.scope !== "global") errors.push(`Model ${model.name} (${name}) is stratum's own table and must be /// @stratum.global.`);
  }

  const names = Object.keys(models).sort();
  const sortedModels: Record<string, StratumModel> = {};
  for (const name of names) sortedModels[name] = models[name] as StratumModel;
  const tenantModels = names.filter((n) => sortedModels[n]?.scope === "tenant");
  const globalModels = names.filter((n) => sortedModels[n]?.scope === "global");
  const schemaHash = createHash("sha256")
    .update(JSON.stringify(canonical({ models: sortedModels, tenantModels, globalModels })))
    .digest("hex");
  const result: StratumModels = { version: 1, provider: "postgresql", models: sortedModels, tenantModels, globalModels, schemaHash };

  if (errors.length > 0) return { models: result, metadataSource: "", securitySql: "", errors };

  const isStratumTable = (t: string): boolean => t.startsWith("stratum_");
  const globals = globalModels.map((n) => sortedModels[n] as StratumModel);
  if (options.citus) {
    const refused = citusRefusals(globals, new Set(tenantModels));
    if (refused.length > 0) return { models: result, metadataSource: "", securitySql: "", errors: refused };
  }
  const sql = securitySql({
    appRole,
    tenantTables: tenantModels.map((n) => {
      const m = sortedModels[n] as StratumModel;
      const idField = m.fields.find((f) => f.name === m.primaryKey[0]);
      return { table: m.table, tenantColumn: m.tenantColumn as string, audited: m.audited, idColumn: idField?.column ?? "id" };
    }),
    globalTables: globals.filter((m) => isStratumTable(m.table)).map((m) => m.table),
    appendOnlyTables: APPEND_ONLY_TABLES.filter((t) => tables.has(t)),
    userGlobalTables: globals.filter((m) => !isStratumTable(m.table)).map((m) => m.table),
  });

  const citus = options.citus
    ? citusSql({
        tenantTables: tenantModels.map((n) => citusTenantTable(sortedModels[n] as StratumModel, sortedModels)),
        stratumTables: globals.filter((m) => isStratumTable(m.table)).map((m) => m.table),
        userGlobalTables: globals.filter((m) => !isStratumTable(m.table)).map((m) => m.table),
      })
    : undefined;
  return { models: result, metadataSource: metadataSource(result, runtimeImport), securitySql: sql, errors, ...(citus ? { citusSql: citus } : {}) };
}

function strictKeyError(model: string, tf: string, id: string, citus: boolean): string {
  const why = citus ? "Citus (generator option citus) needs the distribution column in every primary key" : "generator option strictKeys requires it";
  return (
    `Model ${model}: primary key @id on ${id} does not include ${tf}; ${why} (docs/architecture.md §4 rule 5, strict form). ` +
    `Replace @id on ${id} with @@id([${tf}, ${id}]) (keep @default on ${id}), and point relations at [${tf}, ${id}].`
  );
}

/**
 * Citus keeps a foreign key only from a distributed table to a co-located one or to a reference
 * table: a global model (a reference table) cannot point at a tenant model (a distributed one).
 */
function citusRefusals(globals: readonly StratumModel[], tenantModels: ReadonlySet<string>): string[] {
  const errors: string[] = [];
  for (const m of globals) {
    for (const f of m.fields) {
      if (f.relation && f.relation.fields.length > 0 && tenantModels.has(f.relation.model)) {
        errors.push(
          `Model ${m.name}: global (a Citus reference table) but relation ${f.name} points at tenant model ${f.relation.model} (a distributed table); ` +
            `Citus refuses foreign keys from reference tables to distributed tables. Scope ${m.name} to a tenant, or drop the relation.`,
        );
      }
    }
  }
  return errors;
}

/** A tenant model as the Citus script needs it: its table, tenant column and the tenant tables it references. */
function citusTenantTable(model: StratumModel, models: Readonly<Record<string, StratumModel>>): CitusTenantTable {
  const references = model.fields
    .filter((f) => f.relation && f.relation.fields.length > 0 && models[f.relation.model]?.scope === "tenant" && f.relation.model !== model.name)
    .map((f) => models[f.relation!.model]!.table);
  return { table: model.table, tenantColumn: model.tenantColumn as string, references: [...new Set(references)] };
}

/** The emitted `<output>/index.ts`. */
export function metadataSource(models: StratumModels, runtimeImport: string): string {
  return [
    "// Generated by stratum-prisma (generator stratum). Do not edit: run `prisma generate`.",
    "// Prisma 7's client carries no DMMF at run time; this is what stratum's isolation layer reads.",
    `import type { StratumModels } from ${JSON.stringify(runtimeImport)};`,
    "",
    `export const stratumModels = ${JSON.stringify(models, null, 2)} as const satisfies StratumModels;`,
    "",
    "export default stratumModels;",
    "",
  ].join("\n");
}
