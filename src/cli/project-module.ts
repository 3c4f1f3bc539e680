/**
 * Loading the project's own generated modules (the Prisma client, `stratumModels`) from the CLI.
 * Prisma 7 generates TypeScript (`generated/prisma/client.ts`): a `.ts` module that Node cannot
 * import itself is loaded through tsx's ESM API (`tsx/esm/api`, an optional peer dependency), so a
 * project runs `serve` and `doctor` without a build step. Compiled `.js` needs nothing extra.
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { StratumError } from "../core/errors.js";

export const DEFAULT_CLIENT = ["generated/prisma/client.js", "generated/prisma/client.ts"];
export const DEFAULT_MODELS = ["generated/stratum/index.js", "generated/stratum/index.ts"];

/** The first candidate that exists (relative to the working directory), or the first one. */
export function pickModule(given: string | undefined, defaults: readonly string[]): string {
  const candidates = given ? [given] : defaults;
  const absolute = candidates.map((c) => (isAbsolute(c) ? c : resolve(process.cwd(), c)));
  return absolute.find((c) => existsSync(c)) ?? absolute[0]!;
}

function isUnknownExtension(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: string }).code === "ERR_UNKNOWN_FILE_EXTENSION";
}

/** Imports a module; TypeScript through tsx when this Node cannot (under tsx or vitest it can). */
async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if (!/\.[cm]?ts$/.test(path) || !isUnknownExtension(error)) throw error;
  }
  let tsx: { tsImport(specifier: string, parentURL: string): Promise<unknown> };
  try {
    tsx = (await import("tsx/esm/api")) as typeof tsx;
  } catch (error) {
    throw new StratumError(
      "VALIDATION_FAILED",
      `${path} is TypeScript and tsx is not installed to load it: \`npm install --save-dev tsx\`, or compile the generated client and pass --client/--models with the .js files.`,
      undefined,
      { cause: error },
    );
  }
  return (await tsx.tsImport(url, import.meta.url)) as Record<string, unknown>;
}

/** `exportName` of the module at `path`, refusing a missing file or export with the way out. */
export async function loadProjectExport(path: string, exportName: string): Promise<unknown> {
  if (!existsSync(path)) {
    throw new StratumError("VALIDATION_FAILED", `${path} does not exist: run \`npx stratum-prisma generate\` first, or pass --client / --models.`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(path);
  } catch (error) {
    if (error instanceof StratumError) throw error;
    throw new StratumError("VALIDATION_FAILED", `Cannot load ${path}: ${(error as Error).message}. Pass --client / --models.`, undefined, { cause: error });
  }
  if (!(exportName in mod)) throw new StratumError("VALIDATION_FAILED", `${path} has no export ${exportName}.`);
  return mod[exportName];
}
