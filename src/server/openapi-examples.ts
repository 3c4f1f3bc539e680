/**
 * Examples in the OpenAPI document. Components carry theirs through `schemaRegistry` (schemas.ts);
 * a route's own body, query or response schema carries one with zod's `.meta({ examples })`, which
 * the zod-to-OpenAPI transform does not read (it reads only `schemaRegistry`), so this copies it
 * onto the JSON schema the transform produced.
 */
import type { createJsonSchemaTransform } from "fastify-type-provider-zod";
import { z } from "zod";

type Transform = ReturnType<typeof createJsonSchemaTransform>;
type JsonObject = Record<string, unknown>;

function examplesOf(schema: unknown): unknown[] | undefined {
  if (!(schema instanceof z.ZodType)) return undefined;
  const meta = z.globalRegistry.get(schema);
  if (Array.isArray(meta?.examples) && meta.examples.length > 0) return meta.examples;
  // A list of records shows a list of one record: the element's own example.
  if (schema instanceof z.ZodArray) return examplesOf(schema.element)?.map((e) => [e]);
  return undefined;
}

function copyExamples(zodSchema: unknown, json: unknown): void {
  const examples = examplesOf(zodSchema);
  if (examples && json && typeof json === "object") (json as JsonObject).examples = examples;
}

export function withRouteExamples(base: Transform): Transform {
  return (document) => {
    const out = base(document);
    const source = (document.schema ?? {}) as JsonObject;
    const target = (out.schema ?? {}) as JsonObject;
    for (const part of ["body", "querystring"]) copyExamples(source[part], target[part]);
    const responses = (source.response ?? {}) as JsonObject;
    const produced = (target.response ?? {}) as JsonObject;
    for (const [code, schema] of Object.entries(responses)) copyExamples(schema, produced[code]);
    return out;
  };
}
