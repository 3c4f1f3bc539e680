#!/usr/bin/env node
/**
 * The `stratum-prisma` CLI (not `stratum`: that npm name belongs to an unrelated package, which
 * `npx stratum` would fetch and run). Each command lives in its own file and exports a
 * `register…(program)` function; add it to `commandRegistrars` below.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { isStratumError } from "../core/errors.js";
import { registerDoctor } from "./doctor.js";
import { registerAudit } from "./ops/audit.js";
import { registerHealth } from "./ops/health.js";
import { registerKeys } from "./ops/keys.js";
import { registerTenants } from "./ops/tenants.js";
import { registerGenerate } from "./generate.js";
import { registerInit } from "./init.js";
import { registerMigrate } from "./migrate.js";
import { registerScaffold } from "./scaffold.js";
import { registerServe } from "./serve.js";

export type CommandRegistrar = (program: Command) => void;

export const commandRegistrars: CommandRegistrar[] = [
  registerInit,
  registerGenerate,
  registerMigrate,
  registerScaffold,
  registerDoctor,
  registerServe,
  registerHealth,
  registerKeys,
  registerTenants,
  registerAudit,
];

/** The installed package's version (package.json sits two folders above dist/src/cli and src/cli). */
export function packageVersion(): string {
  for (const rel of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "stratum-prisma" && pkg.version) return pkg.version;
    } catch {
      // not at this level: try the next
    }
  }
  return "unknown";
}

export function buildProgram(registrars: readonly CommandRegistrar[] = commandRegistrars): Command {
  const program = new Command("stratum-prisma")
    .description("hierarchical multi-tenancy for Prisma 7 on PostgreSQL")
    .version(packageVersion(), "-v, --version")
    .showHelpAfterError()
    .exitOverride();
  for (const register of registrars) register(program);
  return program;
}

/** Reads `.env` in the working directory into unset variables (Prisma 7 no longer does it for us). */
function loadDotEnv(): void {
  const load = (process as { loadEnvFile?: (path: string) => void }).loadEnvFile;
  if (load && existsSync(".env")) load(".env");
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    loadDotEnv();
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (isStratumError(error)) {
      console.error(`stratum-prisma: ${error.message}`);
      return 1;
    }
    if (error instanceof Error && "exitCode" in error && typeof error.exitCode === "number") {
      return error.exitCode; // commander already printed help / the usage error
    }
    // Expected failures are StratumErrors (above); anything else still gets one line, and the
    // stack only on request, so a refused connection or a bad URL does not print a trace.
    console.error(`stratum-prisma: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.STRATUM_DEBUG && error instanceof Error && error.stack) console.error(error.stack);
    return 1;
  }
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = await main();
}
