/**
 * The generator's I/O around the pure core: read the block's options, refuse loudly, write
 * `<output>/index.ts` and (when changed) the security migration.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { GeneratorOptions } from "@prisma/generator-helper";
import { StratumError } from "../src/core/errors.js";
import { DEFAULT_APP_ROLE, DEFAULT_RUNTIME_IMPORT, generateStratum, type GenerateStratumResult } from "./core.js";
import { writeSecurityMigration } from "./migration.js";

/** Without a `migrations` option: Prisma's convention, `migrations` next to the schema file or folder. */
export function defaultMigrationsDir(schemaPath: string): string {
  return join(dirname(schemaPath), "migrations");
}

export interface StratumGeneratorConfig {
  appRole: string;
  /** Migrations folder, relative to the folder of the schema file holding the generator block. */
  migrations: string | undefined;
  runtimeImport: string;
  /** `strictKeys = true`: the tenant column in every primary key of a tenant table too. */
  strictKeys: boolean;
  /** `citus = true`: also write `<output>/citus.sql` (docs/scale.md#citus); implies strictKeys. */
  citus: boolean;
}

function single(value: string | string[] | undefined, key: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (Array.isArray(value)) throw new StratumError("GENERATOR_REFUSED", `generator stratum: option ${key} must be a string, not a list.`);
  return value;
}

/** Prisma hands generator options over as strings: `strictKeys = true` arrives as "true". */
function flag(value: string | string[] | undefined, key: string): boolean {
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new StratumError("GENERATOR_REFUSED", `generator stratum: option ${key} must be true or false, not ${JSON.stringify(value)}.`);
}

export function readConfig(config: GeneratorOptions["generator"]["config"]): StratumGeneratorConfig {
  const known = new Set(["appRole", "migrations", "runtimeImport", "strictKeys", "citus"]);
  const unknown = Object.keys(config).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new StratumError(
      "GENERATOR_REFUSED",
      `generator stratum: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (known: ${[...known].join(", ")}).`,
    );
  }
  return {
    appRole: single(config["appRole"], "appRole", DEFAULT_APP_ROLE),
    migrations: config["migrations"] === undefined ? undefined : single(config["migrations"], "migrations", ""),
    runtimeImport: single(config["runtimeImport"], "runtimeImport", DEFAULT_RUNTIME_IMPORT),
    strictKeys: flag(config["strictKeys"], "strictKeys"),
    citus: flag(config["citus"], "citus"),
  };
}

/** Throws StratumError(GENERATOR_REFUSED) listing every problem when the core refused. */
export function assertGenerated(result: GenerateStratumResult): void {
  if (result.errors.length === 0) return;
  throw new StratumError(
    "GENERATOR_REFUSED",
    `stratum refused to generate (${result.errors.length} problem${result.errors.length > 1 ? "s" : ""}):\n` + result.errors.map((e) => `  - ${e}`).join("\n"),
    { errors: result.errors },
  );
}

function writeIfChanged(file: string, content: string): boolean {
  if (existsSync(file) && readFileSync(file, "utf8") === content) return false;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  return true;
}

export interface RunResult {
  output: string;
  metadataFile: string;
  migration: string | null;
  result: GenerateStratumResult;
}

export function runGenerator(options: GeneratorOptions, now: Date = new Date()): RunResult {
  const config = readConfig(options.generator.config);
  const provider = options.datasources[0]?.activeProvider;
  if (provider !== undefined && provider !== "postgresql") {
    throw new StratumError("GENERATOR_REFUSED", `stratum supports PostgreSQL only; the datasource provider is ${provider}.`);
  }
  const result = generateStratum(options.dmmf, {
    appRole: config.appRole,
    runtimeImport: config.runtimeImport,
    strictKeys: config.strictKeys,
    citus: config.citus,
  });
  assertGenerated(result);

  const output = options.generator.output?.value;
  if (!output) throw new StratumError("GENERATOR_REFUSED", "generator stratum: no output directory resolved.");
  const metadataFile = join(output, "index.ts");
  writeIfChanged(metadataFile, result.metadataSource);
  // Not a migration: Citus functions do not exist on plain PostgreSQL (generators/sql/citus.ts).
  if (result.citusSql) writeIfChanged(join(output, "citus.sql"), result.citusSql);

  const migrationsDir =
    config.migrations === undefined
      ? defaultMigrationsDir(options.schemaPath)
      : resolve(dirname(options.generator.sourceFilePath || options.schemaPath), config.migrations);
  const { written } = writeSecurityMigration(migrationsDir, result.securitySql, now);
  return { output, metadataFile, migration: written, result };
}
