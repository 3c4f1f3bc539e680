/**
 * `stratum-prisma init`: add stratum to a Prisma 7 schema folder.
 *
 * - writes `<schema folder>/stratum.prisma` (stratum's models; replaced when stratum ships new ones),
 * - adds `generator stratum { … }` to the file holding the datasource when no such block exists,
 * - adds `ltree` to the datasource's `extensions` and "postgresqlExtensions" to the prisma-client
 *   generator's previewFeatures when missing.
 * Nothing else is touched: the user's models and other blocks stay byte-for-byte as they were. A
 * second run changes nothing and says so. Only the multi-file layout (a schema folder) is
 * supported: stratum's models live in their own file so `init` can update them without editing
 * the user's; a single `schema.prisma` is refused with the steps to move to a folder.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { Command } from "commander";
import { StratumError } from "../core/errors.js";
import { STRATUM_MODELS_PRISMA } from "./templates/stratum-models.js";

export interface InitOptions {
  /** Project root (where prisma.config.ts lives). Default: process.cwd(). */
  cwd?: string;
  /** Schema folder, relative to cwd. Default: `schema` from prisma.config.ts, else prisma/schema. */
  schema?: string;
  /** Migrations folder, relative to cwd. Default: `migrations.path` from prisma.config.ts, else <schema>/../migrations. */
  migrations?: string;
  /** The role the application connects as. Default "stratum_app". */
  appRole?: string;
  /** The generator's provider command. Default "stratum-generator" (the package's bin). */
  provider?: string;
}

export interface InitResult {
  schemaDir: string;
  /** One line per file changed; empty when everything was already in place. */
  changes: string[];
  upToDate: boolean;
}

export const STRATUM_MODELS_FILE = "stratum.prisma";
const CONFIG_FILES = ["prisma.config.ts", "prisma.config.mts", "prisma.config.cts", "prisma.config.js", "prisma.config.mjs", "prisma.config.cjs"];

function refuse(message: string): never {
  throw new StratumError("VALIDATION_FAILED", message);
}

/** Relative path with forward slashes, as Prisma schema files want. */
function posixRelative(from: string, to: string): string {
  const rel = relative(from, to).split(sep).join("/");
  return rel === "" ? "." : rel;
}

interface ProjectPaths {
  schema: string | undefined;
  migrations: string | undefined;
}

/** `schema` and `migrations.path` from prisma.config.* (a literal string only; anything else is ignored). */
function readPrismaConfig(cwd: string): ProjectPaths {
  for (const name of CONFIG_FILES) {
    const file = join(cwd, name);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const schema = /\bschema\s*:\s*(["'`])([^"'`]+)\1/.exec(text)?.[2];
    const migrations = /\bmigrations\s*:\s*\{[^}]*?\bpath\s*:\s*(["'`])([^"'`]+)\1/s.exec(text)?.[2];
    return { schema, migrations };
  }
  return { schema: undefined, migrations: undefined };
}

function singleFileMessage(file: string, cwd: string): string {
  const rel = posixRelative(cwd, file);
  const folder = posixRelative(cwd, join(dirname(file), "schema"));
  return (
    `stratum-prisma init needs a schema folder (Prisma's multi-file schema), but ${rel} is a single file. ` +
    `Move it into a folder and point Prisma at the folder:\n` +
    `  mkdir -p ${folder} && git mv ${rel} ${folder}/schema.prisma\n` +
    `  # prisma.config.ts: schema: "${folder}"   (fix relative \`output\` paths in generator blocks: one level deeper)\n` +
    `then run \`npx stratum-prisma init\` again (or pass --schema <dir>).`
  );
}

/**
 * The migrations folder: the given one, else `migrations.path` from prisma.config.*, else
 * `migrations` next to the schema folder (Prisma's convention).
 */
export function resolveMigrationsDir(cwd: string, given?: string, schemaDir?: string): string {
  const config = readPrismaConfig(cwd);
  const explicit = given ?? config.migrations;
  if (explicit) return resolve(cwd, explicit);
  return join(dirname(schemaDir ?? resolve(cwd, config.schema ?? "prisma/schema")), "migrations");
}

/** Resolves the schema folder, refusing single files and missing folders with the way out. */
export function resolveSchemaDir(cwd: string, schema?: string): string {
  const configured = schema ?? readPrismaConfig(cwd).schema;
  const candidate = resolve(cwd, configured ?? "prisma/schema");
  if (existsSync(candidate)) {
    if (statSync(candidate).isFile()) refuse(singleFileMessage(candidate, cwd));
    return candidate;
  }
  if (!configured && existsSync(join(cwd, "prisma", "schema.prisma"))) refuse(singleFileMessage(join(cwd, "prisma", "schema.prisma"), cwd));
  return refuse(
    `No Prisma schema folder at ${posixRelative(cwd, candidate)}. Create it (with your datasource in ${posixRelative(cwd, candidate)}/schema.prisma) or pass --schema <dir>.`,
  );
}

// ---------------------------------------------------------------------------------------------
// A small scanner for top-level blocks: enough to find `datasource`, `generator` and their braces
// while skipping strings and comments (a `{` inside `@default("{}")` is not a brace).

export interface Block {
  kind: string;
  name: string;
  /** Index of the block's first character (the keyword). */
  start: number;
  /** Index of the closing `}`. */
  close: number;
}

export function findBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  let depth = 0;
  let current: { kind: string; name: string; start: number } | undefined;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
      continue;
    }
    if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
      continue;
    }
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"' && text[i] !== "\n") i += text[i] === "\\" ? 2 : 1;
      i++;
      continue;
    }
    if (depth === 0) {
      const header = /^([A-Za-z]+)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{/.exec(text.slice(i, i + 200));
      if (header && (i === 0 || /\s/.test(text[i - 1] ?? ""))) {
        current = { kind: header[1] ?? "", name: header[2] ?? "", start: i };
        depth = 1;
        i += header[0].length;
        continue;
      }
    } else if (ch === "{") {
      depth++;
    } else if (ch === "}") {
      depth--;
      if (depth === 0 && current) {
        blocks.push({ ...current, close: i });
        current = undefined;
      }
    }
    i++;
  }
  return blocks;
}

function blockBody(text: string, block: Block): string {
  return text.slice(block.start, block.close);
}

/** The string value of `key = "…"` inside a block, if any. */
function blockValue(text: string, block: Block, key: string): string | undefined {
  return new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "m").exec(blockBody(text, block))?.[1];
}

/** Inserts `line` as the last line of the block, indented like its first attribute. */
function insertLine(text: string, block: Block, line: string): string {
  const before = text.slice(0, block.close);
  const trimmed = before.replace(/[ \t]*$/, "");
  const needsNewline = !trimmed.endsWith("\n");
  return `${trimmed}${needsNewline ? "\n" : ""}  ${line}\n${text.slice(block.close)}`;
}

/** Ensures `key = [ … ]` in the block contains `item` (matched by `test`); adds the line if absent. */
function ensureListItem(text: string, block: Block, key: string, item: string, test: RegExp): string {
  const body = blockBody(text, block);
  const match = new RegExp(`^([ \\t]*${key}\\s*=\\s*\\[)([^\\]]*)\\]`, "m").exec(body);
  if (!match) return insertLine(text, block, `${key} = [${item}]`);
  const list = match[2] ?? "";
  if (test.test(list)) return text;
  const at = block.start + match.index + (match[1] ?? "").length;
  const trimmed = list.trim();
  const replacement = trimmed === "" ? item : `${list.replace(/\s+$/, "")}, ${item}`;
  return text.slice(0, at) + replacement + text.slice(at + list.length);
}

function stratumGeneratorBlock(schemaDir: string, cwd: string, migrationsDir: string, appRole: string, provider: string): string {
  const output = posixRelative(schemaDir, join(cwd, "generated", "stratum"));
  const migrations = posixRelative(schemaDir, migrationsDir);
  return [
    "",
    "// stratum-prisma: model metadata for the isolation layer (generated/stratum) and the security",
    "// migration (RLS policies, grants, ltree trigger) written next to your migrations.",
    "generator stratum {",
    `  provider   = "${provider}"`,
    `  output     = "${output}"`,
    `  appRole    = "${appRole}"`,
    `  migrations = "${migrations}"`,
    "}",
    "",
  ].join("\n");
}

export function initProject(options: InitOptions = {}): InitResult {
  const cwd = resolve(options.cwd ?? process.cwd());
  const appRole = options.appRole ?? "stratum_app";
  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(appRole)) refuse(`--app-role ${JSON.stringify(appRole)} is not a plain SQL identifier.`);
  const provider = options.provider ?? "stratum-generator";
  const schemaDir = resolveSchemaDir(cwd, options.schema);
  const migrationsDir = resolveMigrationsDir(cwd, options.migrations, schemaDir);

  const files = readdirSync(schemaDir)
    .filter((f) => f.endsWith(".prisma") && f !== STRATUM_MODELS_FILE)
    .sort()
    .map((f) => join(schemaDir, f));
  const texts = new Map<string, string>(files.map((f) => [f, readFileSync(f, "utf8")]));
  const updated = new Map<string, string>(texts);

  const datasources = files.flatMap((f) =>
    findBlocks(texts.get(f) ?? "")
      .filter((b) => b.kind === "datasource")
      .map((b) => ({ file: f, block: b })),
  );
  if (datasources.length === 0)
    refuse(`No datasource block in ${posixRelative(cwd, schemaDir)}/*.prisma: add \`datasource db { provider = "postgresql" }\` first.`);
  if (datasources.length > 1)
    refuse(`More than one datasource block in ${posixRelative(cwd, schemaDir)}: ${datasources.map((d) => posixRelative(cwd, d.file)).join(", ")}.`);
  const datasource = datasources[0] as { file: string; block: Block };
  const dsProvider = blockValue(texts.get(datasource.file) ?? "", datasource.block, "provider");
  if (dsProvider !== "postgresql" && dsProvider !== "postgres")
    refuse(`stratum needs PostgreSQL; the datasource provider is ${JSON.stringify(dsProvider ?? "")}.`);

  const modelFiles = files.filter((f) => findBlocks(texts.get(f) ?? "").some((b) => b.kind === "model" && b.name === "StratumTenant"));
  if (modelFiles.length > 0)
    refuse(
      `${modelFiles.map((f) => posixRelative(cwd, f)).join(", ")} already define${modelFiles.length === 1 ? "s" : ""} model StratumTenant; stratum's models belong in ${STRATUM_MODELS_FILE} only.`,
    );

  // 1. datasource: ltree extension.
  {
    const text = updated.get(datasource.file) ?? "";
    const block = findBlocks(text).find((b) => b.kind === "datasource") as Block;
    updated.set(datasource.file, ensureListItem(text, block, "extensions", "ltree", /(^|[\s,[])ltree\b/));
  }

  // 2. prisma-client generator: postgresqlExtensions preview feature (the generator block may live in any file).
  for (const file of files) {
    let text = updated.get(file) ?? "";
    for (const block of findBlocks(text)
      .filter((b) => b.kind === "generator")
      .reverse()) {
      const p = blockValue(text, block, "provider");
      if (p !== "prisma-client" && p !== "prisma-client-js") continue;
      text = ensureListItem(text, block, "previewFeatures", '"postgresqlExtensions"', /"postgresqlExtensions"/);
    }
    updated.set(file, text);
  }

  // 3. generator stratum, once, next to the datasource.
  const hasStratumGenerator = files.some((f) => findBlocks(updated.get(f) ?? "").some((b) => b.kind === "generator" && b.name === "stratum"));
  if (!hasStratumGenerator) {
    const text = updated.get(datasource.file) ?? "";
    const separator = text.endsWith("\n") ? "" : "\n";
    updated.set(datasource.file, text + separator + stratumGeneratorBlock(schemaDir, cwd, migrationsDir, appRole, provider));
  }

  const changes: string[] = [];
  for (const file of files) {
    const before = texts.get(file);
    const after = updated.get(file);
    if (after !== undefined && after !== before) {
      writeFileSync(file, after);
      changes.push(`updated ${posixRelative(cwd, file)}`);
    }
  }

  // 4. stratum's models.
  const modelsFile = join(schemaDir, STRATUM_MODELS_FILE);
  const existing = existsSync(modelsFile) ? readFileSync(modelsFile, "utf8") : undefined;
  if (existing !== STRATUM_MODELS_PRISMA) {
    writeFileSync(modelsFile, STRATUM_MODELS_PRISMA);
    changes.push(`${existing === undefined ? "wrote" : "updated"} ${posixRelative(cwd, modelsFile)}`);
  }

  return { schemaDir, changes, upToDate: changes.length === 0 };
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("add stratum's models and generator to your Prisma schema folder (idempotent)")
    .option("--schema <dir>", "Prisma schema folder (default: `schema` in prisma.config.ts, else prisma/schema)")
    .option("--migrations <dir>", "migrations folder (default: `migrations.path` in prisma.config.ts, else next to the schema folder)")
    .option("--app-role <role>", "database role the application connects as", "stratum_app")
    .option("--cwd <dir>", "project root", process.cwd())
    .action((opts: { schema?: string; migrations?: string; appRole: string; cwd: string }) => {
      const result = initProject({
        cwd: opts.cwd,
        appRole: opts.appRole,
        ...(opts.schema !== undefined ? { schema: opts.schema } : {}),
        ...(opts.migrations !== undefined ? { migrations: opts.migrations } : {}),
      });
      if (result.upToDate) {
        console.log(`stratum: ${posixRelative(resolve(opts.cwd), result.schemaDir)} is up to date`);
        return;
      }
      for (const line of result.changes) console.log(`stratum: ${line}`);
      console.log(
        [
          "next:",
          "  1. add your models (a `tenant_id` field, or `/// @stratum.global`): npx stratum-prisma scaffold model <Name> --fields …",
          "  2. npx stratum-prisma migrate new init --url <owner url>   (the tables' migration)",
          "  3. npx stratum-prisma generate                             (the client, stratumModels, the security migration)",
          "  4. npx stratum-prisma migrate --url <owner url>            (applies both; writes STRATUM_SCOPE_KEY to .env)",
        ].join("\n"),
      );
    });
}
