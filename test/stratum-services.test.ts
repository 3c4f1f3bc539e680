/**
 * `$stratum`'s type is written (src/extension/stratum-services.ts), not inferred from the object
 * createServices builds. The typecheck already fails when the interface lists a method the build
 * lacks (stratum.ts assigns the one to the other); this fails the other way round: a method the
 * build has and the written API leaves out (callers could not see it), and it names it.
 */
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

function propertyNames(): { built: string[]; written: string[] } {
  const config = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const files = ["src/extension/services.ts", "src/extension/stratum-services.ts"].map((f) => join(root, f));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const exportsOf = (file: string) => {
    const source = program.getSourceFile(join(root, file));
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) throw new Error(`cannot read ${file}`);
    return checker.getExportsOfModule(symbol);
  };
  const factory = exportsOf("src/extension/services.ts").find((s) => s.name === "createServices");
  const written = exportsOf("src/extension/stratum-services.ts").find((s) => s.name === "StratumServices");
  if (!factory || !written) throw new Error("createServices or StratumServices not found");
  const built = checker.getTypeOfSymbol(factory).getCallSignatures()[0]!.getReturnType();
  return {
    built: built
      .getProperties()
      .map((p) => p.name)
      .sort(),
    written: checker
      .getDeclaredTypeOfSymbol(written)
      .getProperties()
      .map((p) => p.name)
      .sort(),
  };
}

describe("the written $stratum API", () => {
  const { built, written } = propertyNames();

  it("reads both sides (the comparison itself works)", () => {
    expect(built.length).toBeGreaterThan(60);
    expect(written).toContain("createTenant");
  });

  it("lists every method createServices builds, and none it does not", () => {
    expect(
      built.filter((n) => !written.includes(n)),
      "add these to src/extension/stratum-services.ts",
    ).toEqual([]);
    expect(
      written.filter((n) => !built.includes(n)),
      "listed in stratum-services.ts but not built",
    ).toEqual([]);
  });
});
