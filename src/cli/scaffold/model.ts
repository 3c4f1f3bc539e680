/**
 * `stratum scaffold model <Name>`: writes `<schema folder>/<name>.prisma` with a model stratum's
 * generator accepts as-is. Everything is checked before anything is written; a refusal is a
 * StratumError (VALIDATION_FAILED) that says what to do. The user's own schema files are never
 * edited: what a referenced model needs (the back-relation, a composite unique) is returned as
 * instructions, because rewriting someone's model is riskier than telling them one line to add.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { StratumError } from "../../core/errors.js";
import { resolveSchemaDir } from "../init.js";
import { renderModel, type ScaffoldRelation } from "../templates/scaffold-model.js";
import { PRISMA_SCALARS, RESERVED_FIELD_NAMES, parseFields } from "./fields.js";
import { camelCase, pluralize, snakeCase } from "./names.js";
import { hasKey, isTenantScoped, scanSchemaFolder, type ScannedEntity, type SchemaScan } from "./schema-scan.js";

export interface ScaffoldModelOptions {
  /** PascalCase model name, e.g. "Invoice". */
  name: string;
  /** Project root. Default: process.cwd(). */
  cwd?: string;
  /** Schema folder relative to cwd. Default: `schema` in prisma.config.ts, else prisma/schema. */
  schema?: string;
  /** `title:String,amount:Decimal?,ssn:String@encrypted`. */
  fields?: string;
  audit?: boolean;
  /** Models to reference, each with a foreign key (composite with tenant_id between tenant models). */
  relations?: readonly string[];
  global?: boolean;
  /** Overwrite `<name>.prisma` if it exists. */
  force?: boolean;
  /** Compute and return everything, write nothing. */
  dryRun?: boolean;
}

/** One line the user must add to a model in their own files before `prisma generate` passes. */
export interface ReferencedModelEdit {
  model: string;
  /** Path relative to cwd. */
  file: string;
  line: string;
  why: string;
}

export interface ScaffoldModelResult {
  /** Absolute path of the model file. */
  file: string;
  content: string;
  written: boolean;
  edits: ReferencedModelEdit[];
  nextSteps: string[];
}

const RESERVED_MODEL_NAMES = new Set(["Prisma", "PrismaClient", "Unsupported", ...PRISMA_SCALARS]);

function refuse(message: string): never {
  throw new StratumError("VALIDATION_FAILED", message);
}

function posixRelative(from: string, to: string): string {
  return relative(from, to).split(sep).join("/") || ".";
}

function checkName(name: string): void {
  if (!/^[A-Z][A-Za-z0-9]{0,59}$/.test(name)) {
    const suggestion = camelCase(snakeCase(name.replace(/[^A-Za-z0-9_]/g, "_")).replace(/^_+/, ""));
    const pascal = suggestion.charAt(0).toUpperCase() + suggestion.slice(1);
    refuse(
      `Model name "${name}" is not PascalCase: start with an uppercase letter, then letters and digits only` +
        `${/^[A-Z][A-Za-z0-9]*$/.test(pascal) ? ` (e.g. ${pascal})` : ""}. The table name is derived from it (${name} → snake_case, plural).`,
    );
  }
  if (RESERVED_MODEL_NAMES.has(name)) refuse(`Model name ${name} is reserved by Prisma; pick another name (e.g. ${name}Record).`);
  if (name.startsWith("Stratum")) refuse(`Model names starting with "Stratum" are reserved for stratum's own models (stratum.prisma); pick another name.`);
}

function describeModel(cwd: string, entity: ScannedEntity): string {
  return `${entity.kind} ${entity.name} in ${posixRelative(cwd, entity.file)}`;
}

interface PlannedRelation {
  relation: ScaffoldRelation;
  edits: ReferencedModelEdit[];
}

function planRelation(targetName: string, model: string, tenant: boolean, scan: SchemaScan, cwd: string): PlannedRelation {
  const target = scan.entities.find((e) => e.name === targetName);
  const dir = posixRelative(cwd, scan.dir);
  if (!target || target.kind !== "model") {
    const known = scan.entities.filter((e) => e.kind === "model" && !e.name.startsWith("Stratum")).map((e) => e.name);
    refuse(
      `--relation ${targetName}: no model ${targetName} in ${dir}/*.prisma${known.length > 0 ? ` (models there: ${known.join(", ")})` : ""}. Scaffold or write it first.`,
    );
  }
  if (targetName === model) refuse(`--relation ${targetName}: a model relating to itself needs a named relation; add it by hand after scaffolding.`);
  const id = target.idField;
  if (!id) {
    refuse(
      `--relation ${targetName}: ${describeModel(cwd, target)} has no single-field @id to reference. Add the relation by hand, referencing its key together with tenant_id.`,
    );
  }
  const targetTenant = isTenantScoped(target);
  if (!tenant && targetTenant) {
    refuse(
      `--relation ${targetName}: a global model cannot point at tenant-scoped ${targetName}; its rows are shared by every tenant, ${targetName}'s are not. Put the relation on the tenant side (scaffold the tenant model with --relation ${model}).`,
    );
  }
  const snake = snakeCase(targetName);
  const field = camelCase(snake);
  const foreignKey = `${snake}_id`;
  const native = /@db\.[A-Za-z]+(\([^)]*\))?/.exec(id.attributes)?.[0];
  const file = posixRelative(cwd, target.file);
  const edits: ReferencedModelEdit[] = [];

  // Prisma wants both sides of a relation; the opposite field lives in the user's file.
  if (!target.fields.some((f) => f.type === model && f.list)) {
    const base = camelCase(pluralize(snakeCase(model)));
    const name = target.fields.some((f) => f.name === base) ? `${base}List` : base;
    edits.push({ model: targetName, file, line: `${name} ${model}[]`, why: "Prisma needs the opposite side of every relation" });
  }
  if (tenant && targetTenant) {
    const tf = target.tenantField?.name ?? "tenant_id";
    if (!hasKey(target, [tf, id.name])) {
      edits.push({
        model: targetName,
        file,
        line: `@@unique([${tf}, ${id.name}])`,
        why: `the foreign key carries tenant_id (docs/architecture.md §4 rule 5), so it must reference a unique over (${tf}, ${id.name})`,
      });
    }
    return {
      relation: {
        field,
        foreignKey,
        foreignKeyType: id.type,
        foreignKeyNative: native,
        target: targetName,
        fields: ["tenant_id", foreignKey],
        references: [tf, id.name],
      },
      edits,
    };
  }
  return {
    relation: { field, foreignKey, foreignKeyType: id.type, foreignKeyNative: native, target: targetName, fields: [foreignKey], references: [id.name] },
    edits,
  };
}

function commandLine(options: ScaffoldModelOptions): string {
  const parts = ["stratum scaffold model", options.name];
  if (options.fields) parts.push(`--fields "${options.fields}"`);
  for (const r of options.relations ?? []) parts.push(`--relation ${r}`);
  if (options.audit) parts.push("--audit");
  if (options.global) parts.push("--global");
  return parts.join(" ");
}

export function scaffoldModel(options: ScaffoldModelOptions): ScaffoldModelResult {
  const cwd = resolve(options.cwd ?? process.cwd());
  const name = options.name;
  checkName(name);
  const global = options.global === true;
  const tenant = !global;
  if (global && options.audit) refuse("--audit applies to tenant-scoped models (the audit trigger records the row's tenant); drop --audit or --global.");

  const schemaDir = resolveSchemaDir(cwd, options.schema);
  const file = join(schemaDir, `${snakeCase(name)}.prisma`);
  const fileRel = posixRelative(cwd, file);
  if (existsSync(file) && !options.force) refuse(`${fileRel} already exists. Edit it, pick another model name, or pass --force to overwrite it.`);

  const scan = scanSchemaFolder(schemaDir);
  const clash = scan.entities.find((e) => e.name === name && e.file !== file);
  if (clash) refuse(`${describeModel(cwd, clash)} already uses the name ${name}; pick another name.`);
  const table = pluralize(snakeCase(name));

  const relationNames = [
    ...new Set(
      (options.relations ?? [])
        .flatMap((r) => r.split(","))
        .map((r) => r.trim())
        .filter((r) => r !== ""),
    ),
  ];
  const planned = relationNames.map((r) => planRelation(r, name, tenant, scan, cwd));

  const taken = new Map<string, string>(RESERVED_FIELD_NAMES.map((f) => [f, "part of every scaffolded model"]));
  for (const { relation } of planned) {
    taken.set(relation.field, `the relation field of --relation ${relation.target}`);
    taken.set(relation.foreignKey, `the foreign key of --relation ${relation.target}`);
  }
  const fields = parseFields(options.fields, taken);
  if (global) {
    const encrypted = fields.filter((f) => f.encrypted).map((f) => f.name);
    if (encrypted.length > 0)
      refuse(`@encrypted (${encrypted.join(", ")}) needs a tenant-scoped model: the ciphertext is bound to its tenant. Drop --global or @encrypted.`);
  }

  const content = renderModel({
    name,
    table,
    command: commandLine(options),
    global,
    audit: options.audit === true,
    fields,
    relations: planned.map((p) => p.relation),
  });
  const edits = planned.flatMap((p) => p.edits);

  const nextSteps: string[] = [];
  if (!scan.generators.some((g) => g.name === "stratum"))
    nextSteps.push("`npx stratum-prisma init`: the schema folder has no stratum generator yet, so nothing would check or protect this model");
  for (const edit of edits) nextSteps.push(`in ${edit.file}, model ${edit.model}, add \`${edit.line}\` (${edit.why})`);
  const migration = `add_${table}`;
  nextSteps.push(
    `\`npx stratum-prisma migrate new ${migration} --url <owner url>\` writes the table's migration without Prisma's native engine (where it exists, \`npx prisma migrate dev --create-only --name ${migration}\` does the same; in stratum-prisma's own repo: \`npm run migrations:new ${migration}\`)`,
    `\`npx stratum-prisma generate\` (prisma generate without the native engine): stratum's generator checks ${name}${tenant ? " and writes a security migration with its RLS policy and grants, ordered after the table's" : ""}`,
    "`npx stratum-prisma migrate --url <owner url>` (or `npx prisma migrate deploy`) applies both",
  );

  if (!options.dryRun) writeFileSync(file, content);
  return { file, content, written: !options.dryRun, edits, nextSteps };
}
