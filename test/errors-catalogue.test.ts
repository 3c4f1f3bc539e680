/**
 * Every error code a user can meet is explained in docs/errors.md and has a line in the
 * catalogue of src/core/errors.ts. Codes are found where they are thrown (`new StratumError("X"`,
 * across line breaks) in src/ and generators/, plus the declared list, so a code added anywhere
 * during development fails here until it is documented.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCatalogue, ErrorCodes } from "../src/core/errors.js";
import { TransportErrorCodes } from "../src/sdk/errors.js";

const root = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|tsx)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

function thrownCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of [...sourceFiles("src"), ...sourceFiles("generators")]) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/new\s+StratumError\(\s*["'`]([A-Z][A-Z0-9_]*)["'`]/g)) {
      if (!found.has(m[1]!)) found.set(m[1]!, file.slice(root.length + 1));
    }
  }
  return found;
}

/** Codes documented as `### \`CODE\`` headings. */
function documentedCodes(): Set<string> {
  const doc = readFileSync(join(root, "docs", "errors.md"), "utf8");
  return new Set([...doc.matchAll(/^###\s+`([A-Z][A-Z0-9_]*)`/gm)].map((m) => m[1]!));
}

describe("error catalogue", () => {
  const thrown = thrownCodes();
  const documented = documentedCodes();
  const catalogued = new Set(Object.keys(ErrorCatalogue));

  it("finds the codes it scans for (the scan itself works)", () => {
    expect(thrown.size).toBeGreaterThan(20);
    expect(thrown.has("TENANT_NOT_FOUND")).toBe(true);
  });

  it("documents every code thrown in src/ and generators/ in docs/errors.md", () => {
    const missing = [...thrown].filter(([code]) => !documented.has(code)).map(([code, file]) => `${code} (thrown in ${file})`);
    expect(missing, "add a ### `CODE` section to docs/errors.md").toEqual([]);
  });

  it("catalogues every thrown code in src/core/errors.ts", () => {
    const missing = [...thrown].filter(([code]) => !catalogued.has(code)).map(([code, file]) => `${code} (thrown in ${file})`);
    expect(missing, "add the code to ErrorCodes and ErrorCatalogue").toEqual([]);
  });

  it("documents every declared code, and documents no code that does not exist", () => {
    const declared = new Set<string>([...ErrorCodes, ...TransportErrorCodes]);
    expect([...declared].filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !declared.has(c))).toEqual([]);
    expect([...catalogued].sort()).toEqual([...ErrorCodes].sort());
  });
});
