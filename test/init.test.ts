import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDMMF } from "@prisma/get-dmmf";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli/main.js";
import { findBlocks, initProject } from "../src/cli/init.js";
import { STRATUM_MODELS_PRISMA } from "../src/cli/templates/stratum-models.js";
import { renderTemplate } from "../src/cli/templates/sync.js";
import { throwsWithCode } from "./support/errors.js";
import { SCHEMA, tempDirs } from "./support/temp-project.js";

const root = join(import.meta.dirname, "..");
const tempDir = tempDirs("stratum-init-");

const APP = `// my models, hands off
model Post {
  id        String @id @db.Uuid
  tenant_id String @db.Uuid
  meta      Json   @default("{}") // braces in a string: { not a block }
  /* block comment } */
  @@index([tenant_id])
}
`;

function project(files: Record<string, string>, config?: string): string {
  const dir = tempDir();
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  if (config !== undefined) writeFileSync(join(dir, "prisma.config.ts"), config);
  return dir;
}

function read(dir: string, path: string): string {
  return readFileSync(join(dir, path), "utf8");
}

/** The message of the VALIDATION_FAILED that `fn` throws. */
const refusal = (fn: () => unknown): string => throwsWithCode(fn, "VALIDATION_FAILED").message;

describe("the stratum models template", () => {
  it("equals prisma/schema/stratum.prisma byte for byte (regenerate: npx tsx src/cli/templates/sync.ts)", () => {
    const repo = readFileSync(join(root, "prisma", "schema", "stratum.prisma"), "utf8");
    expect(STRATUM_MODELS_PRISMA).toBe(repo);
    expect(readFileSync(join(root, "src", "cli", "templates", "stratum-models.ts"), "utf8")).toBe(renderTemplate(repo));
  });
});

describe("stratum init", () => {
  it("adds models, generator, ltree and the preview feature; a second run changes nothing", () => {
    const dir = project({ "prisma/schema/schema.prisma": SCHEMA, "prisma/schema/app.prisma": APP }, `export default { schema: "prisma/schema" };\n`);
    const first = initProject({ cwd: dir });
    expect(first.upToDate).toBe(false);
    expect(first.changes).toEqual(["updated prisma/schema/schema.prisma", "wrote prisma/schema/stratum.prisma"]);
    const schema = read(dir, "prisma/schema/schema.prisma");
    expect(schema).toContain("extensions = [ltree]");
    expect(schema).toContain('previewFeatures = ["postgresqlExtensions"]');
    expect(schema).toMatch(
      /generator stratum \{\n  provider   = "stratum-generator"\n  output     = "..\/..\/generated\/stratum"\n  appRole    = "stratum_app"\n  migrations = "..\/migrations"\n\}/,
    );
    expect(read(dir, "prisma/schema/stratum.prisma")).toBe(STRATUM_MODELS_PRISMA);
    expect(read(dir, "prisma/schema/app.prisma")).toBe(APP);

    const second = initProject({ cwd: dir });
    expect(second).toMatchObject({ upToDate: true, changes: [] });
    expect(read(dir, "prisma/schema/schema.prisma")).toBe(schema);

    // The result parses, and the generator accepts it.
    const files = readdirSync(join(dir, "prisma/schema")).map((f) => [f, read(dir, `prisma/schema/${f}`)] as [string, string]);
    const dmmf = getDMMF({ datamodel: files });
    expect("datamodel" in dmmf).toBe(true);
  });

  it("extends existing lists instead of duplicating them, and keeps an existing stratum generator", () => {
    const schema = `generator client {
  provider        = "prisma-client"
  output          = "../../generated/prisma"
  previewFeatures = ["views"]
}

datasource db {
  provider   = "postgresql"
  extensions = [pgcrypto]
}

generator stratum {
  provider = "node ./custom.js"
  output   = "../../out"
}
`;
    const dir = project({ "db/schema.prisma": schema, "db/app.prisma": APP });
    const result = initProject({ cwd: dir, schema: "db" });
    expect(result.changes).toEqual(["updated db/schema.prisma", "wrote db/stratum.prisma"]);
    const after = read(dir, "db/schema.prisma");
    expect(after).toContain('previewFeatures = ["views", "postgresqlExtensions"]');
    expect(after).toContain("extensions = [pgcrypto, ltree]");
    expect(after).toContain('provider = "node ./custom.js"');
    expect(after.match(/generator stratum/g)).toHaveLength(1);
    expect(read(dir, "db/app.prisma")).toBe(APP);
    expect(initProject({ cwd: dir, schema: "db" }).upToDate).toBe(true);
  });

  it("replaces an outdated stratum.prisma and nothing else", () => {
    const dir = project({ "prisma/schema/schema.prisma": SCHEMA, "prisma/schema/app.prisma": APP });
    initProject({ cwd: dir });
    writeFileSync(join(dir, "prisma/schema/stratum.prisma"), "// old\n");
    expect(initProject({ cwd: dir }).changes).toEqual(["updated prisma/schema/stratum.prisma"]);
    expect(read(dir, "prisma/schema/stratum.prisma")).toBe(STRATUM_MODELS_PRISMA);
  });

  it("uses prisma.config.ts paths for the generator block", () => {
    const dir = project(
      { "schema/main.prisma": SCHEMA },
      `import { defineConfig } from "prisma/config";\nexport default defineConfig({\n  schema: "schema",\n  migrations: { path: "db/migrations" },\n});\n`,
    );
    initProject({ cwd: dir });
    const text = read(dir, "schema/main.prisma");
    expect(text).toContain('output     = "../generated/stratum"');
    expect(text).toContain('migrations = "../db/migrations"');
  });

  it("refuses a single-file schema and says how to move to a folder", () => {
    const dir = project({ "prisma/schema.prisma": SCHEMA });
    const message = refusal(() => initProject({ cwd: dir }));
    expect(message).toContain("prisma/schema.prisma is a single file");
    expect(message).toContain("git mv prisma/schema.prisma prisma/schema/schema.prisma");
    expect(message).toContain('schema: "prisma/schema"');
    const configured = project({ "prisma/schema.prisma": SCHEMA }, `export default { schema: "prisma/schema.prisma" };\n`);
    expect(refusal(() => initProject({ cwd: configured }))).toContain("single file");
    expect(read(dir, "prisma/schema.prisma")).toBe(SCHEMA);
  });

  it("refuses non-PostgreSQL datasources and folders without a datasource", () => {
    const mysql = project({ "prisma/schema/schema.prisma": SCHEMA.replace("postgresql", "mysql") });
    expect(refusal(() => initProject({ cwd: mysql }))).toContain("PostgreSQL");
    const none = project({ "prisma/schema/app.prisma": APP });
    expect(refusal(() => initProject({ cwd: none }))).toContain("No datasource block");
  });

  it("runs through the commander program", async () => {
    const dir = project({ "prisma/schema/schema.prisma": SCHEMA });
    const logs: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void logs.push(args.join(" "));
    try {
      await buildProgram().parseAsync(["node", "stratum", "init", "--cwd", dir, "--app-role", "app_rw"]);
      await buildProgram().parseAsync(["node", "stratum", "init", "--cwd", dir]);
    } finally {
      console.log = original;
    }
    expect(read(dir, "prisma/schema/schema.prisma")).toContain('appRole    = "app_rw"');
    expect(logs.at(-1)).toBe("stratum: prisma/schema is up to date");
  });
});

describe("findBlocks", () => {
  it("ignores braces in strings and comments", () => {
    const blocks = findBlocks(SCHEMA + APP);
    expect(blocks.map((b) => `${b.kind} ${b.name}`)).toEqual(["generator client", "datasource db", "model Post"]);
  });
});
