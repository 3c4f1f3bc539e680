/**
 * Just enough reading of a Prisma schema folder for the scaffolds: which models exist, which are
 * tenant-scoped, their id and keys, and where the generators write. A scan, not a parser: Prisma
 * and stratum's generator still check everything on `prisma generate`.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { findBlocks, type Block } from "../init.js";

export interface ScannedField {
  name: string;
  type: string;
  list: boolean;
  optional: boolean;
  /** The rest of the line: attributes such as `@id @db.Uuid`. */
  attributes: string;
}

export interface ScannedEntity {
  kind: string;
  name: string;
  file: string;
  /** `/// @stratum.global` above the model. */
  global: boolean;
  fields: ScannedField[];
  /** `tenant_id` / `tenantId` (or a field mapped onto a tenant_id column), as the generator finds it. */
  tenantField: ScannedField | undefined;
  /** The single-field `@id`, if any. */
  idField: ScannedField | undefined;
  /** Field lists of `@@unique` and `@@id`, argument suffixes such as `(sort: Desc)` removed. */
  keys: string[][];
}

export interface ScannedGenerator {
  name: string;
  provider: string | undefined;
  /** Absolute output folder, when the block names one. */
  output: string | undefined;
}

export interface SchemaScan {
  dir: string;
  entities: ScannedEntity[];
  generators: ScannedGenerator[];
}

const TENANT_FIELD_NAMES = ["tenant_id", "tenantId"];

function blockText(text: string, block: Block): string {
  const open = text.indexOf("{", block.start);
  return text.slice(open + 1, block.close);
}

/** The `///` lines directly above a block: Prisma attaches those as the model's documentation. */
function docAbove(text: string, block: Block): string {
  const lines = text.slice(0, block.start).split("\n");
  lines.pop(); // the part of the block's own line before the keyword
  const doc: string[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] ?? "").trim();
    if (!line.startsWith("///")) break;
    doc.unshift(line);
  }
  return doc.join("\n");
}

function stripComment(line: string): string {
  // Strings in attributes may contain "//" (a URL default): cut only outside quotes.
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"' && line[i - 1] !== "\\") quoted = !quoted;
    if (!quoted && ch === "/" && line[i + 1] === "/") return line.slice(0, i);
  }
  return line;
}

function keyFields(list: string): string[] {
  return list
    .split(",")
    .map((f) => f.replace(/\(.*$/s, "").trim())
    .filter((f) => f !== "");
}

function scanEntity(text: string, block: Block, file: string): ScannedEntity {
  const fields: ScannedField[] = [];
  const keys: string[][] = [];
  for (const raw of blockText(text, block).split("\n")) {
    const line = stripComment(raw).trim();
    if (line === "") continue;
    const key = /^@@(?:unique|id)\s*\(\s*(?:fields\s*:\s*)?\[([^\]]*)\]/.exec(line);
    if (key) {
      keys.push(keyFields(key[1] ?? ""));
      continue;
    }
    const field = /^([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z_][A-Za-z0-9_]*(?:\([^)]*\))?)(\[\])?(\?)?\s*(.*)$/.exec(line);
    if (!field) continue;
    fields.push({ name: field[1] ?? "", type: field[2] ?? "", list: field[3] !== undefined, optional: field[4] !== undefined, attributes: field[5] ?? "" });
  }
  const scalars = fields.filter((f) => !f.list);
  const tenantField =
    TENANT_FIELD_NAMES.map((n) => scalars.find((f) => f.name === n)).find((f) => f !== undefined) ??
    scalars.find((f) => /@map\(\s*"tenant_id"\s*\)/.test(f.attributes));
  const idField = fields.find((f) => /(^|\s)@id\b/.test(f.attributes));
  return {
    kind: block.kind,
    name: block.name,
    file,
    global: /@stratum\.global\b/.test(docAbove(text, block)),
    fields,
    tenantField,
    idField,
    keys,
  };
}

function stringValue(body: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "m").exec(body)?.[1];
}

/** Reads every `*.prisma` file of a schema folder (sorted, so results do not depend on the file system). */
export function scanSchemaFolder(dir: string): SchemaScan {
  const entities: ScannedEntity[] = [];
  const generators: ScannedGenerator[] = [];
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith(".prisma"))
    .sort()) {
    const file = join(dir, name);
    const text = readFileSync(file, "utf8");
    for (const block of findBlocks(text)) {
      if (block.kind === "generator") {
        const body = blockText(text, block);
        const output = stringValue(body, "output");
        generators.push({
          name: block.name,
          provider: stringValue(body, "provider"),
          output: output === undefined ? undefined : resolve(dirname(file), output),
        });
      } else if (block.kind === "model" || block.kind === "view" || block.kind === "enum" || block.kind === "type") {
        entities.push(scanEntity(text, block, file));
      }
    }
  }
  return { dir, entities, generators };
}

/** Tenant-scoped as the generator would classify it: not global, has a tenant field. */
export function isTenantScoped(entity: ScannedEntity): boolean {
  return entity.kind === "model" && !entity.global && entity.tenantField !== undefined;
}

/** True when some `@@unique` / `@@id` covers exactly these fields (in any order). */
export function hasKey(entity: ScannedEntity, fields: readonly string[]): boolean {
  const wanted = [...fields].sort().join(",");
  return entity.keys.some((k) => [...k].sort().join(",") === wanted);
}
