/**
 * `stratum scaffold`: starting points that already follow stratum's rules.
 *
 *   stratum scaffold model <Name> [--fields …] [--relation <Model>] [--audit] [--global] [--dry-run]
 *   stratum scaffold integration <express|fastify|next> [--out <dir>] [--model <Name>] [--dry-run]
 *
 * The work is in scaffold/model.ts and scaffold/integration.ts (pure functions the tests call);
 * this file only wires them to commander and prints.
 */
import { relative, resolve, sep } from "node:path";
import type { Command } from "commander";
import { scaffoldIntegration, type ScaffoldIntegrationOptions } from "./scaffold/integration.js";
import { scaffoldModel } from "./scaffold/model.js";

export { scaffoldModel, type ScaffoldModelOptions, type ScaffoldModelResult, type ReferencedModelEdit } from "./scaffold/model.js";
export {
  scaffoldIntegration,
  FRAMEWORKS,
  type Framework,
  type ScaffoldIntegrationOptions,
  type ScaffoldIntegrationResult,
  type ScaffoldedFile,
} from "./scaffold/integration.js";

function rel(cwd: string, path: string): string {
  return relative(resolve(cwd), path).split(sep).join("/");
}

function printSteps(steps: readonly string[]): void {
  console.log("next:");
  steps.forEach((step, i) => console.log(`  ${i + 1}. ${step}`));
}

interface ModelFlags {
  schema?: string;
  fields?: string;
  audit?: boolean;
  relation: string[];
  global?: boolean;
  force?: boolean;
  dryRun?: boolean;
  cwd: string;
}

/** The integration command's flags are its options (framework is the argument; --cwd has a default). */
type IntegrationFlags = Omit<ScaffoldIntegrationOptions, "framework" | "cwd"> & { cwd: string };

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerScaffold(program: Command): void {
  const scaffold = program.command("scaffold").description("write a tenant model or a framework integration that follows stratum's rules");

  scaffold
    .command("model <Name>")
    .description("write <schema folder>/<name>.prisma: a tenant model stratum's generator accepts as-is")
    .option("--schema <dir>", "Prisma schema folder (default: `schema` in prisma.config.ts, else prisma/schema)")
    .option(
      "--fields <list>",
      'comma-separated name:Type, ? optional, [] list, @encrypted @subject @unique, e.g. "title:String,amount:Decimal?,ssn:String@encrypted"',
    )
    .option("--relation <Model>", "reference another model with a foreign key (composite with tenant_id); repeatable", collect, [])
    .option("--audit", "audit every write to the table (/// @stratum.audit)")
    .option("--global", "a model shared by all tenants (/// @stratum.global, no tenant_id)")
    .option("--force", "overwrite the model file if it exists")
    .option("--dry-run", "print the model instead of writing it")
    .option("--cwd <dir>", "project root", process.cwd())
    .action((name: string, opts: ModelFlags) => {
      const result = scaffoldModel({
        name,
        cwd: opts.cwd,
        relations: opts.relation,
        ...(opts.schema !== undefined ? { schema: opts.schema } : {}),
        ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
        audit: opts.audit === true,
        global: opts.global === true,
        force: opts.force === true,
        dryRun: opts.dryRun === true,
      });
      if (result.written) console.log(`stratum: wrote ${rel(opts.cwd, result.file)}`);
      else console.log(`stratum: would write ${rel(opts.cwd, result.file)}:\n\n${result.content}`);
      printSteps(result.nextSteps);
    });

  scaffold
    .command("integration <framework>")
    .description("write a small working integration: express, fastify (a server scoped by X-Tenant-ID) or next (lib/stratum.ts + server actions)")
    .option("--out <dir>", "where to write (default: src for express/fastify, the app root for next)")
    .option("--schema <dir>", "Prisma schema folder, to find the generated client (default as for init)")
    .option("--model <Name>", "tenant model for the example routes (default: the first tenant-scoped model)")
    .option("--stratum-import <specifier>", "module to import stratum from: a package name or a path relative to --cwd", "stratum-prisma")
    .option("--force", "overwrite files that exist")
    .option("--dry-run", "print the files instead of writing them")
    .option("--cwd <dir>", "project root", process.cwd())
    .action((framework: string, opts: IntegrationFlags) => {
      const result = scaffoldIntegration({
        framework,
        cwd: opts.cwd,
        ...(opts.out !== undefined ? { out: opts.out } : {}),
        ...(opts.schema !== undefined ? { schema: opts.schema } : {}),
        ...(opts.model !== undefined ? { model: opts.model } : {}),
        ...(opts.stratumImport !== undefined ? { stratumImport: opts.stratumImport } : {}),
        force: opts.force === true,
        dryRun: opts.dryRun === true,
      });
      for (const file of result.files) {
        if (result.written) console.log(`stratum: wrote ${rel(opts.cwd, file.path)}`);
        else console.log(`stratum: would write ${rel(opts.cwd, file.path)}:\n\n${file.content}`);
      }
      printSteps(result.nextSteps);
    });
}
