/**
 * The Prisma model written by `stratum scaffold model`. Shaped like prisma/schema/app.prisma's
 * Ticket: uuid id, `tenant_id String @db.Uuid`, an index leading with tenant_id (docs/architecture.md §4 rule 2), tenant_id
 * in every unique and foreign key (docs/architecture.md §4 rule 5), timestamptz timestamps.
 */
import type { FieldSpec } from "../scaffold/fields.js";

export interface ScaffoldRelation {
  /** Relation field on the new model, e.g. `user`. */
  field: string;
  /** Foreign-key scalar on the new model, e.g. `user_id`. */
  foreignKey: string;
  /** Its type and native type, copied from the referenced id (`String`, `@db.Uuid`). */
  foreignKeyType: string;
  foreignKeyNative: string | undefined;
  target: string;
  fields: string[];
  references: string[];
}

export interface ModelTemplateInput {
  name: string;
  table: string;
  /** The command that wrote the file, for its header. */
  command: string;
  global: boolean;
  audit: boolean;
  fields: FieldSpec[];
  relations: ScaffoldRelation[];
}

interface Row {
  docs?: string[];
  name: string;
  type: string;
  attributes: string;
}

const TIMESTAMP = "@db.Timestamptz(6)";

function fieldRow(spec: FieldSpec & { global: boolean }): Row {
  const suffix = spec.list ? "[]" : spec.optional ? "?" : "";
  const attributes: string[] = [];
  // Plain @unique only where there is no tenant column to put in front of it (global models).
  if (spec.unique && spec.global) attributes.push("@unique");
  if (spec.type === "DateTime") attributes.push(TIMESTAMP);
  const docs = [...(spec.encrypted ? ["/// @stratum.encrypted"] : []), ...(spec.subject ? ["/// @stratum.subject"] : [])];
  return { docs, name: spec.name, type: `${spec.type}${suffix}`, attributes: attributes.join(" ") };
}

function renderRows(rows: Row[]): string[] {
  const nameWidth = Math.max(...rows.map((r) => r.name.length));
  const typeWidth = Math.max(...rows.map((r) => r.type.length));
  const out: string[] = [];
  for (const row of rows) {
    for (const doc of row.docs ?? []) out.push(`  ${doc}`);
    const line =
      row.attributes === "" ? `  ${row.name.padEnd(nameWidth)} ${row.type}` : `  ${row.name.padEnd(nameWidth)} ${row.type.padEnd(typeWidth)} ${row.attributes}`;
    out.push(line);
  }
  return out;
}

export function renderModel(input: ModelTemplateInput): string {
  const tenant = !input.global;
  const fields = input.fields.map((f) => ({ ...f, global: input.global }));
  const rows: Row[] = [{ name: "id", type: "String", attributes: "@id @default(uuid()) @db.Uuid" }];
  if (tenant) rows.push({ name: "tenant_id", type: "String", attributes: "@db.Uuid" });
  rows.push(...fields.map(fieldRow));
  for (const r of input.relations) {
    rows.push({ name: r.foreignKey, type: r.foreignKeyType, attributes: r.foreignKeyNative ?? "" });
    rows.push({ name: r.field, type: r.target, attributes: `@relation(fields: [${r.fields.join(", ")}], references: [${r.references.join(", ")}])` });
  }
  rows.push({ name: "created_at", type: "DateTime", attributes: `@default(now()) ${TIMESTAMP}` });
  rows.push({ name: "updated_at", type: "DateTime", attributes: `@default(now()) @updatedAt ${TIMESTAMP}` });

  const attributes: string[] = [];
  if (tenant) {
    // So that other tenant models can reference this one with a composite key (docs/architecture.md §4 rule 5).
    attributes.push("@@unique([tenant_id, id])");
    for (const f of input.fields.filter((x) => x.unique)) attributes.push(`@@unique([tenant_id, ${f.name}])`);
    attributes.push("@@index([tenant_id, created_at])");
  }
  for (const r of input.relations) {
    const local = r.fields.filter((f) => f !== "tenant_id");
    attributes.push(tenant ? `@@index([tenant_id, ${local.join(", ")}])` : `@@index([${local.join(", ")}])`);
  }
  attributes.push(`@@map("${input.table}")`);

  const docs: string[] = [];
  if (input.global) docs.push("/// Shared by every tenant: no tenant_id, no row-level security.", "/// @stratum.global");
  if (input.audit) docs.push("/// Writes are audited (a row trigger, same transaction, with the actor).", "/// @stratum.audit");

  return [
    `// Written by: ${input.command}`,
    "// Yours to edit. stratum's generator checks it on every `prisma generate`:",
    tenant
      ? "// tenant_id stays in every unique and foreign key, and an index leads with it."
      : "// global rows are readable by every tenant, so keep tenant data out of this model.",
    "",
    ...docs,
    `model ${input.name} {`,
    ...renderRows(rows),
    "",
    ...attributes.map((a) => `  ${a}`),
    "}",
    "",
  ].join("\n");
}
