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

interface Media {
  schema?: unknown;
  example?: unknown;
  examples?: unknown;
}
interface Operation {
  summary?: string;
  tags?: string[];
  responses?: Record<string, { content?: Record<string, Media> }>;
  requestBody?: { content?: Record<string, Media> };
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
      expect(
        codes.some((c) => c.startsWith("2")),
        where,
      ).toBe(true);
      // Keyless probes (security: []) cannot answer 401/403; every keyed route documents its errors.
      if (path.startsWith("/api/v1/") && op.security?.length !== 0) {
        for (const code of ["400", "401", "403", "429"]) expect(codes, where).toContain(code);
      }
    }
  });
});

/** True when the schema, a component it refers to, or a part of it (items, properties, variants) shows an example. */
function hasExample(value: unknown, seen = new Set<string>()): boolean {
  if (!value || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some((v) => hasExample(v, seen));
  const s = value as Record<string, unknown>;
  if (s.example !== undefined || (Array.isArray(s.examples) && s.examples.length > 0)) return true;
  if (typeof s.$ref === "string") {
    const name = s.$ref.split("/").pop()!;
    if (seen.has(name)) return false;
    seen.add(name);
    return hasExample(doc.components.schemas[name], seen);
  }
  const parts = ["items", "anyOf", "oneOf", "allOf", "additionalProperties"].map((k) => s[k]);
  return parts.some((p) => hasExample(p, seen)) || Object.values((s.properties ?? {}) as Record<string, unknown>).some((p) => hasExample(p, seen));
}

const mediaHasExample = (media: Media) => media.example !== undefined || media.examples !== undefined || hasExample(media.schema);

/**
 * Routes with nothing to show: deletions answering 204 with no body, and the NDJSON audit export
 * (one line per entry, shown under GET /tenants/{id}/audit). The list may only shrink: any other
 * route must come with an example (zod `.meta({ examples })` on its body or answer, or a component
 * from schemas.ts that has one).
 */
const WITHOUT_EXAMPLE = new Set([
  "DELETE /api/v1/tenants/{id}/config/{key}",
  "DELETE /api/v1/tenants/{id}/policies/{name}",
  "GET /api/v1/tenants/{id}/audit/export",
  "DELETE /api/v1/tenants/{id}/webhooks/{webhookId}",
]);

describe("examples", () => {
  it("every route shows an example of its body or its success answer, except the listed ones", () => {
    const missing = operations()
      .filter(({ op }) => {
        const success = Object.entries(op.responses ?? {}).filter(([code]) => code.startsWith("2"));
        const answers = success.some(([, r]) => Object.values(r.content ?? {}).some(mediaHasExample));
        const body = Object.values(op.requestBody?.content ?? {}).some(mediaHasExample);
        return !answers && !body;
      })
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(missing.filter((route) => !WITHOUT_EXAMPLE.has(route))).toEqual([]);
    expect(missing.length).toBeLessThanOrEqual(WITHOUT_EXAMPLE.size);
  });

  it("the shared components carry examples (tenants, config, permissions, API keys)", () => {
    for (const name of ["Tenant", "ResolvedConfigEntry", "ConfigEntry", "Permission", "ResolvedPermission", "ApiKey"]) {
      expect(hasExample(doc.components.schemas[name]), name).toBe(true);
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
