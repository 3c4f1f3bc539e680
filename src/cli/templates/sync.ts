/**
 * One source of truth for stratum's models: prisma/schema/stratum.prisma (this repo's own schema,
 * migrated and tested). `stratum init` ships a copy as a TS module; this script regenerates it:
 *   npx tsx src/cli/templates/sync.ts          (write)
 *   npx tsx src/cli/templates/sync.ts --check  (exit 1 when stale)
 * test/init.test.ts asserts the two are byte-for-byte equal.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const here = import.meta.dirname;
const source = join(here, "..", "..", "..", "prisma", "schema", "stratum.prisma");
const target = join(here, "stratum-models.ts");

export function renderTemplate(prisma: string): string {
  const escaped = prisma.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${");
  return [
    "// Generated from prisma/schema/stratum.prisma by src/cli/templates/sync.ts. Do not edit here.",
    "/** stratum's own models, written by `stratum init` as <schema folder>/stratum.prisma. */",
    `export const STRATUM_MODELS_PRISMA = \`${escaped}\`;`,
    "",
  ].join("\n");
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const wanted = renderTemplate(readFileSync(source, "utf8"));
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    current = "";
  }
  if (current === wanted) {
    console.log("stratum-models.ts is up to date");
  } else if (process.argv.includes("--check")) {
    console.error("src/cli/templates/stratum-models.ts is stale: run `npx tsx src/cli/templates/sync.ts`");
    process.exit(1);
  } else {
    writeFileSync(target, wanted);
    console.log("wrote src/cli/templates/stratum-models.ts");
  }
}
