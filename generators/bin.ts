#!/usr/bin/env node
/**
 * `provider = "stratum-generator"` (or, inside this repo, `node --import tsx ./generators/bin.ts`).
 * Prisma spawns this in its own working directory and talks JSON-RPC over stdin/stderr.
 */
// CommonJS package whose named exports Node cannot detect: take them off the default export.
import generatorHelper from "@prisma/generator-helper";
import { relative } from "node:path";
import { runGenerator } from "./run.js";

const { generatorHandler } = generatorHelper;

generatorHandler({
  onManifest: () => ({
    prettyName: "stratum-prisma",
    defaultOutput: "../../generated/stratum",
  }),
  onGenerate: async (options) => {
    const { migration, result } = runGenerator(options);
    const { tenantModels, globalModels } = result.models;
    process.stdout.write(
      `stratum: ${tenantModels.length} tenant-scoped model(s) [${tenantModels.join(", ")}], ${globalModels.length} global` +
        (migration ? `; wrote ${relative(process.cwd(), migration)}/migration.sql\n` : "; security migration up to date\n"),
    );
  },
});
