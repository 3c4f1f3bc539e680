/**
 * The library does not depend on the generator: nothing under src/ imports from generators/. The
 * scope contract both use — the SQL builders and the protocol (setting name, modes, admin tenant
 * id, signing) — lives in src/sql/, and the generator imports it from there. The scan reads every
 * import and export-from specifier (static and dynamic) and resolves it against its file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|mts)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** Specifiers of `import … from "x"`, `export … from "x"`, `import "x"` and `import("x")`. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) found.push(m[1]!);
  return found;
}

/** Files under src/ with an import that resolves into generators/, as "file → specifier". */
function importsOfGenerators(files: Array<{ path: string; text: string }>): string[] {
  const generators = join(root, "generators");
  const offenders: string[] = [];
  for (const { path, text } of files) {
    for (const spec of specifiers(text)) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(path), spec);
      if (target === generators || target.startsWith(`${generators}/`)) offenders.push(`${relative(root, path)} → ${spec}`);
    }
  }
  return offenders;
}

describe("layers", () => {
  it("the scan catches an import of generators/ (static, type-only, re-export and dynamic)", () => {
    const path = join(root, "src", "isolation", "example.ts");
    const text = [
      'import { ident } from "../../generators/sql/security.js";',
      'import type { X } from "../../generators/core.js";',
      'export { y } from "../../generators/index.js";',
      'const m = await import("../../generators/run.js");',
      'import { ok } from "../sql/security.js";',
    ].join("\n");
    expect(importsOfGenerators([{ path, text }])).toHaveLength(4);
  });

  it("nothing under src/ imports from generators/", () => {
    const files = sourceFiles("src").map((path) => ({ path, text: readFileSync(path, "utf8") }));
    expect(files.length).toBeGreaterThan(100);
    expect(importsOfGenerators(files)).toEqual([]);
  });

  it("the generator takes the scope contract from src/sql/", () => {
    const core = readFileSync(join(root, "generators", "core.ts"), "utf8");
    expect(specifiers(core)).toContain("../src/sql/security.js");
  });
});
