/**
 * `stratum scaffold integration <express|fastify|next>`: writes a small integration of the core
 * library (stratumAdapter + stratum + runWithTenant) into the user's app. Import paths to the
 * generated Prisma client and stratum metadata are read from the schema folder's generator blocks,
 * so the written files compile where they land. No file is written unless all of them can be.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { StratumError } from "../../core/errors.js";
import { resolveSchemaDir } from "../init.js";
import { renderExpress } from "../templates/scaffold-express.js";
import { renderFastify } from "../templates/scaffold-fastify.js";
import { renderNextAction } from "../templates/scaffold-next-action.js";
import { renderNextLib } from "../templates/scaffold-next-lib.js";
import type { IntegrationTemplateInput } from "../templates/scaffold-shared.js";
import { camelCase, delegateName, pluralize, routeName, snakeCase } from "./names.js";
import { isTenantScoped, scanSchemaFolder, type SchemaScan } from "./schema-scan.js";

export const FRAMEWORKS = ["express", "fastify", "next"] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export interface ScaffoldIntegrationOptions {
  framework: string;
  /** Project root. Default: process.cwd(). */
  cwd?: string;
  /** Where to write, relative to cwd. Default: `src` for express / fastify, `.` (the app root) for next. */
  out?: string;
  /** Schema folder, to find the generated client and a tenant model. Default as for `stratum init`. */
  schema?: string;
  /** The tenant model the example routes read. Default: the first tenant-scoped model in the schema folder. */
  model?: string;
  /** Where stratum is imported from: a package name, or a path relative to cwd. Default "stratum-prisma". */
  stratumImport?: string;
  force?: boolean;
  dryRun?: boolean;
}

export interface ScaffoldedFile {
  /** Absolute path. */
  path: string;
  content: string;
}

export interface ScaffoldIntegrationResult {
  framework: Framework;
  files: ScaffoldedFile[];
  written: boolean;
  nextSteps: string[];
}

function refuse(message: string): never {
  throw new StratumError("VALIDATION_FAILED", message);
}

function posixRelative(from: string, to: string): string {
  return relative(from, to).split(sep).join("/") || ".";
}

function isFramework(value: string): value is Framework {
  return (FRAMEWORKS as readonly string[]).includes(value);
}

/** A relative specifier from the file at `from` to `target` (absolute, extension included or not). */
function specifier(from: string, target: string): string {
  const rel = posixRelative(dirname(from), target);
  return rel.startsWith(".") ? rel : `./${rel}`;
}

interface Targets {
  /** Absolute module path without extension, or a package name. */
  client: string;
  models: string;
  model: string;
}

function isPath(value: string): boolean {
  return value.startsWith("./") || value.startsWith("../") || isAbsolute(value);
}

/** Where `prisma generate` writes the client and stratum's metadata, and which model to use. */
function findTargets(cwd: string, options: ScaffoldIntegrationOptions): Targets {
  let scan: SchemaScan | undefined;
  try {
    scan = scanSchemaFolder(resolveSchemaDir(cwd, options.schema));
  } catch (error) {
    // Without --schema a missing folder is fine (the defaults below); an explicit one must exist.
    if (options.schema !== undefined) throw error;
  }
  const client = scan?.generators.find((g) => g.provider === "prisma-client" || g.provider === "prisma-client-js");
  const clientModule =
    client?.provider === "prisma-client-js"
      ? client.output
        ? join(client.output, "index")
        : "@prisma/client"
      : join(client?.output ?? join(cwd, "generated", "prisma"), "client");
  const stratumOut = scan?.generators.find((g) => g.name === "stratum")?.output ?? join(cwd, "generated", "stratum");

  const tenantModels = (scan?.entities ?? []).filter((e) => isTenantScoped(e) && !e.name.startsWith("Stratum"));
  let model = options.model;
  if (model !== undefined) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(model)) refuse(`--model ${JSON.stringify(model)} is not a model name.`);
    const entity = scan?.entities.find((e) => e.name === model);
    if (scan && !entity)
      refuse(
        `--model ${model}: no such model in ${posixRelative(cwd, scan.dir)}/*.prisma${tenantModels.length > 0 ? ` (tenant-scoped models there: ${tenantModels.map((e) => e.name).join(", ")})` : ""}.`,
      );
    if (entity && !isTenantScoped(entity))
      refuse(
        `--model ${model} is not tenant-scoped (no tenant_id, or /// @stratum.global); the example routes show tenant isolation, so pick a model with tenant_id.`,
      );
  } else {
    model = tenantModels[0]?.name;
    if (model === undefined) {
      if (scan)
        refuse(
          `No tenant-scoped model in ${posixRelative(cwd, scan.dir)}/*.prisma for the example routes: scaffold one first (\`stratum scaffold model <Name>\`) or pass --model <Name>.`,
        );
      model = "User";
    }
  }
  return { client: clientModule, models: join(stratumOut, "index"), model };
}

function templateInput(file: string, targets: Targets, stratumImport: string, cwd: string, extension: ".js" | ""): IntegrationTemplateInput {
  const mod = (target: string): string => (isAbsolute(target) ? `${specifier(file, target)}${extension}` : target);
  const stratum = isPath(stratumImport) ? specifier(file, resolve(cwd, stratumImport)) : stratumImport;
  const plural = pluralize(snakeCase(targets.model));
  const pascal = camelCase(plural);
  return {
    clientImport: mod(targets.client),
    modelsImport: mod(targets.models),
    stratumImport: stratum,
    model: targets.model,
    delegate: delegateName(targets.model),
    route: routeName(targets.model),
    plural: pascal.charAt(0).toUpperCase() + pascal.slice(1),
  };
}

export function scaffoldIntegration(options: ScaffoldIntegrationOptions): ScaffoldIntegrationResult {
  const cwd = resolve(options.cwd ?? process.cwd());
  const framework = options.framework;
  if (!isFramework(framework))
    refuse(`Unknown integration "${framework}". Choose one of: ${FRAMEWORKS.join(", ")} (e.g. \`stratum scaffold integration express\`).`);
  const stratumImport = options.stratumImport ?? "stratum-prisma";
  const targets = findTargets(cwd, options);
  const out = resolve(cwd, options.out ?? (framework === "next" ? "." : "src"));

  const files: ScaffoldedFile[] = [];
  if (framework === "next") {
    const lib = join(out, "lib", "stratum.ts");
    const route = routeName(targets.model);
    const action = join(out, "app", "actions", `${route}.ts`);
    // Next resolves extensionless imports; Node ESM (express / fastify under tsx) wants ".js".
    files.push({ path: lib, content: renderNextLib(templateInput(lib, targets, stratumImport, cwd, "")) });
    const libImport = specifier(action, join(out, "lib", "stratum"));
    files.push({ path: action, content: renderNextAction({ ...templateInput(action, targets, stratumImport, cwd, ""), libImport }) });
  } else {
    const file = join(out, `stratum-${framework}.ts`);
    const input = templateInput(file, targets, stratumImport, cwd, ".js");
    files.push({ path: file, content: framework === "express" ? renderExpress(input) : renderFastify(input) });
  }

  const existing = files.filter((f) => existsSync(f.path)).map((f) => posixRelative(cwd, f.path));
  if (existing.length > 0 && !options.force) {
    refuse(
      `${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; nothing was written. Move ${existing.length === 1 ? "it" : "them"} aside, choose another --out, or pass --force to overwrite.`,
    );
  }

  const nextSteps = nextStepsFor(framework, files, cwd);
  if (!options.dryRun) {
    for (const f of files) {
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.content);
    }
  }
  return { framework, files, written: !options.dryRun, nextSteps };
}

function nextStepsFor(framework: Framework, files: readonly ScaffoldedFile[], cwd: string): string[] {
  const first = posixRelative(cwd, (files[0] as ScaffoldedFile).path);
  const steps: string[] = [];
  if (framework === "express") steps.push("`npm install express` and `npm install -D @types/express` if they are not dependencies yet");
  if (framework === "fastify") steps.push("`npm install fastify` if it is not a dependency yet");
  steps.push("`npx stratum-prisma generate` (or `npx prisma generate`) so the generated client and stratum's metadata the files import exist");
  if (framework === "next") {
    steps.push(
      `set X-Tenant-ID in your middleware once the user is authenticated (${first} reads it), then call the actions from a server component`,
      "APP_DATABASE_URL (the app role) and STRATUM_SCOPE_KEY in .env.local",
    );
  } else {
    steps.push(
      `APP_DATABASE_URL=<app role url> STRATUM_SCOPE_KEY=… npx tsx ${first}`,
      "put authentication in front of it: X-Tenant-ID names a tenant, it does not prove membership",
    );
  }
  return steps;
}
