/**
 * The published OpenAPI document is valid OpenAPI 3.1, every `$ref` resolves, a TypeScript client
 * can be generated from it, every route is described, and every route is listed in docs/server.md.
 * No database: the document depends on the route schemas only.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";
import openapiTS, { astToString } from "openapi-typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { createControlPlane, type StratumClient } from "../../src/server/index.js";

interface Operation {
  summary?: string;
  tags?: string[];
  responses?: Record<string, unknown>;
  security?: unknown[];
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

const METHODS = new Set(["get", "post", "put", "patch", "delete"]);
let doc: Doc;

beforeAll(async () => {
  // The document is built from the route schemas; no route runs, so no database is needed.
  const app = createControlPlane({ prisma: { $stratum: {} } as unknown as StratumClient, bootstrapKey: "sk_test_bootstrap" });
  await app.ready();
  doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json<Doc>();
  await app.close();
});

function operations(): Array<{ method: string; path: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]) => ({ method, path, op })),
  );
}

function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsIn(item, found);
  else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") found.push(child);
      else refsIn(child, found);
    }
  }
  return found;
}

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("has no dangling $ref: each one names a component that exists", () => {
    const refs = [...new Set(refsIn(doc))];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const match = /^#\/components\/schemas\/([A-Za-z0-9_]+)$/.exec(ref);
      expect(match, ref).not.toBeNull();
      expect(Object.keys(doc.components.schemas), ref).toContain(match![1]);
    }
  });

  it("generates TypeScript types with openapi-typescript", async () => {
    const source = astToString(await openapiTS(doc as never));
    expect(source).toContain('"/api/v1/tenants"');
    expect(source).toMatch(/JsonValue:/);
    expect(source).toMatch(/Tenant:\s*\{/);
  });

  it("gives every route a summary, tags and its error responses", () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(40);
    for (const { method, path, op } of ops) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.summary, where).toBeTruthy();
      expect(op.tags?.length, where).toBeGreaterThan(0);
      const codes = Object.keys(op.responses ?? {});
      expect(codes.some((c) => c.startsWith("2")), where).toBe(true);
      // Keyless probes (security: []) cannot answer 401/403; every keyed route documents its errors.
      if (path.startsWith("/api/v1/") && op.security?.length !== 0) {
        for (const code of ["400", "401", "403", "429"]) expect(codes, where).toContain(code);
      }
    }
  });
});

describe("docs/server.md", () => {
  it("lists every route as `METHOD /path` (paths under /api/v1 without the prefix)", () => {
    const text = readFileSync(fileURLToPath(new URL("../../docs/server.md", import.meta.url)), "utf8");
    const normalize = (s: string) => s.replace(/\{[^}]+\}/g, "{}");
    const listed = new Set([...text.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`?\s]*)/g)].map((m) => `${m[1]} ${normalize(m[2]!)}`));
    const missing = operations()
      .map(({ method, path }) => `${method.toUpperCase()} ${normalize(path.replace(/^\/api\/v1(?=\/)/, ""))}`)
      .filter((route) => !listed.has(route));
    expect(missing).toEqual([]);
  });
});
