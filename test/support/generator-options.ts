/**
 * What Prisma hands a generator (`GeneratorOptions`) for a schema folder `<dir>/prisma/schema`,
 * output in `<dir>/generated/stratum`: the fake both generator tests run `runGenerator` with.
 */
import { join } from "node:path";
import type { DMMF, GeneratorOptions } from "@prisma/generator-helper";

export function generatorOptions(dir: string, dmmf: DMMF.Document, config: Record<string, string>): GeneratorOptions {
  const schemaFolder = join(dir, "prisma", "schema");
  return {
    generator: {
      name: "stratum",
      output: { value: join(dir, "generated", "stratum"), fromEnvVar: null },
      provider: { value: "stratum-generator", fromEnvVar: null },
      config,
      binaryTargets: [],
      previewFeatures: [],
      sourceFilePath: join(schemaFolder, "schema.prisma"),
    },
    otherGenerators: [],
    schemaPath: schemaFolder,
    dmmf,
    datasources: [{ name: "db", provider: "postgresql", activeProvider: "postgresql", schemas: [], sourceFilePath: join(schemaFolder, "schema.prisma") }],
    datamodel: "",
    version: "test",
  };
}
