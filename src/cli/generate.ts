/**
 * `stratum-prisma generate`: the project's own `prisma generate`, without Prisma's native schema
 * engine. Prisma 7 resolves (and would download) that binary even for `generate`, which never
 * runs it; pointing PRISMA_SCHEMA_ENGINE_BINARY at an existing placeholder skips the download.
 * Queries run on Prisma's WebAssembly compiler and migrations on stratum's runner, so nothing
 * needs the real binary. An engine the user configured (the variable already set) is kept.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { StratumError } from "../core/errors.js";

const PLACEHOLDER =
  "#!/bin/sh\necho 'stratum-prisma: the native schema engine is not installed; use `npx stratum-prisma migrate` / `migrate new`' >&2\nexit 1\n";

/** Writes (once) the placeholder under the project's node_modules/.cache and returns its path. */
export function schemaEnginePlaceholder(cwd: string): string {
  const file = join(cwd, "node_modules", ".cache", "stratum-prisma", "schema-engine-placeholder");
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, PLACEHOLDER, { mode: 0o755 });
  }
  return file;
}

/** The environment `prisma` needs to run without the native engine. */
export function prismaEnvironment(cwd: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const bin = join(cwd, "node_modules", ".bin");
  return {
    ...env,
    PRISMA_SCHEMA_ENGINE_BINARY: env.PRISMA_SCHEMA_ENGINE_BINARY || schemaEnginePlaceholder(cwd),
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    // the generator block's provider (`stratum-generator`) is a bin of this package
    PATH: [bin, env.PATH ?? ""].join(delimiter),
  };
}

/** The project's prisma CLI entry (its own version, a peer dependency). */
export function prismaCli(cwd: string): string {
  try {
    return join(dirname(createRequire(join(cwd, "package.json")).resolve("prisma/package.json")), "build", "index.js");
  } catch (error) {
    throw new StratumError("VALIDATION_FAILED", "The prisma CLI is not installed in this project: `npm install --save-dev prisma@^7.10`.", undefined, {
      cause: error,
    });
  }
}

/** Runs `prisma <args>` in `cwd`; returns its exit status. */
export function runPrisma(args: readonly string[], cwd = process.cwd()): number {
  const result = spawnSync(process.execPath, [prismaCli(cwd), ...args], { cwd, env: prismaEnvironment(cwd), stdio: "inherit" });
  return result.status ?? 1;
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("run `prisma generate` without Prisma's native schema engine (writes the client, stratumModels and the security migration)")
    .argument("[prismaArgs...]", "passed on to `prisma generate` (e.g. --schema prisma/schema)")
    .allowUnknownOption()
    .addHelpText("after", "\nExample:\n  $ npx stratum-prisma generate\n")
    .action((prismaArgs: string[]) => {
      const status = runPrisma(["generate", ...prismaArgs], resolve(process.cwd()));
      if (status !== 0) throw new StratumError("VALIDATION_FAILED", `prisma generate exited with status ${status} (its output is above).`);
    });
}
