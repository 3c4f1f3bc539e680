/**
 * docs/api.md is the written public API: for each entry point in package.json `exports`, its
 * tables list every exported name, values and types alike. The exports are read with the
 * TypeScript compiler (so `export type *` and type-only names count), and any name missing from
 * the doc, or documented but not exported, fails here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

/** package.json export key → source entry, derived from the `types` path under dist/. */
function entryPoints(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; exports: Record<string, { types: string }> };
  const map = new Map<string, string>();
  for (const [key, target] of Object.entries(pkg.exports)) {
    const name = key === "." ? pkg.name : `${pkg.name}/${key.replace(/^\.\//, "")}`;
    map.set(name, target.types.replace(/^\.\/dist\//, "").replace(/\.d\.ts$/, ".ts"));
  }
  return map;
}

function actualExports(entries: Map<string, string>): Map<string, Set<string>> {
  const config = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const files = [...entries.values()].map((f) => join(root, f));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const result = new Map<string, Set<string>>();
  for (const [name, file] of entries) {
    const source = program.getSourceFile(join(root, file));
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) throw new Error(`cannot read the exports of ${file}`);
    result.set(name, new Set(checker.getExportsOfModule(symbol).map((s) => s.name)));
  }
  return result;
}

/** Names in the first column of the tables under each `## \`entry\`` heading. */
function documentedExports(): Map<string, Set<string>> {
  const doc = readFileSync(join(root, "docs", "api.md"), "utf8");
  const result = new Map<string, Set<string>>();
  let current: Set<string> | undefined;
  for (const line of doc.split("\n")) {
    const heading = /^## `([^`]+)`\s*$/.exec(line);
    if (heading) {
      current = new Set();
      result.set(heading[1]!, current);
      continue;
    }
    if (/^## /.test(line)) current = undefined;
    if (!current || !line.startsWith("|")) continue;
    const first = line.split("|")[1] ?? "";
    for (const m of first.matchAll(/`([A-Za-z_$][\w$]*)`/g)) current.add(m[1]!);
  }
  return result;
}

describe("docs/api.md", () => {
  const entries = entryPoints();
  const actual = actualExports(entries);
  const documented = documentedExports();

  it("has a section for every entry point and none for an entry point that does not exist", () => {
    expect([...documented.keys()].sort()).toEqual([...entries.keys()].sort());
  });

  for (const entry of entries.keys()) {
    it(`lists exactly what ${entry} exports`, () => {
      const exported = actual.get(entry)!;
      const written = documented.get(entry) ?? new Set<string>();
      expect(exported.size).toBeGreaterThan(0);
      expect([...exported].filter((n) => !written.has(n)).sort(), `exported by ${entry} but not in docs/api.md`).toEqual([]);
      expect([...written].filter((n) => !exported.has(n)).sort(), `in docs/api.md but not exported by ${entry}`).toEqual([]);
    });
  }
});
