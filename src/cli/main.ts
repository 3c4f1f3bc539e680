#!/usr/bin/env node
/**
 * The `stratum` CLI. Each command lives in its own file and exports a `register…(program)`
 * function; add it to `commandRegistrars` below (init here; migrate, scaffold, doctor elsewhere).
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { isStratumError } from "../core/errors.js";
import { registerDoctor } from "./doctor.js";
import { registerInit } from "./init.js";
import { registerMigrate } from "./migrate.js";
import { registerScaffold } from "./scaffold.js";
import { registerServe } from "./serve.js";

export type CommandRegistrar = (program: Command) => void;

export const commandRegistrars: CommandRegistrar[] = [registerInit, registerMigrate, registerScaffold, registerDoctor, registerServe];

export function buildProgram(registrars: readonly CommandRegistrar[] = commandRegistrars): Command {
  const program = new Command("stratum")
    .description("hierarchical multi-tenancy for Prisma 7 on PostgreSQL")
    .showHelpAfterError()
    .exitOverride();
  for (const register of registrars) register(program);
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (isStratumError(error)) {
      console.error(`stratum: ${error.message}`);
      return 1;
    }
    if (error instanceof Error && "exitCode" in error && typeof error.exitCode === "number") {
      return error.exitCode; // commander already printed help / the usage error
    }
    console.error(error);
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
