/**
 * /tenants/:id/config: inherited config. Sensitive values are always redacted over HTTP (the
 * library's `includeSensitive` is for code running next to the database, not for API clients).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { StratumError } from "../../core/errors.js";
import { outOfSubtree } from "../auth.js";
import { ConfigEntry, ConfigKey, errorResponses, JsonValue, KeyParams, ResolvedConfigEntry, TenantId, TenantParams } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["config"];

const SetBody = z
  .object({
    value: JsonValue,
    locked: z.boolean().optional().describe("Descendants inherit the value and cannot override it."),
    sensitive: z.boolean().optional().describe("Stored encrypted; redacted in every answer."),
  })
  .strict();

const BatchBody = z
  .object({
    entries: z
      .array(SetBody.extend({ key: ConfigKey }))
      .min(1)
      .max(500),
  })
  .strict();

const BatchOutcome = z.object({
  results: z.array(
    z.object({
      key: z.string(),
      ok: z.boolean(),
      entry: ConfigEntry.optional(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
  applied: z.number().int(),
  rejected: z.number().int(),
});

const DiffEntry = z.object({ a: ResolvedConfigEntry.nullable(), b: ResolvedConfigEntry.nullable(), status: z.enum(["only_a", "only_b", "different"]) });
const ConfigDiff = z.object({ tenant_a: z.string(), tenant_b: z.string(), changed: z.record(z.string(), DiffEntry), same: z.array(z.string()) });

export const configRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  app.get(
    "/tenants/:id/config",
    {
      schema: {
        tags,
        summary: "Resolved config (with inheritance)",
        description: "Scope: config:read. Every key the tenant sees, with where its value comes from.",
        params: TenantParams,
        // The service types its map with optional entries (typed config); every present key has one.
        response: { 200: z.record(z.string(), ResolvedConfigEntry.optional()), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "config:read", request.params.id);
      return stratum.resolveConfig(request.params.id);
    },
  );

  app.get(
    "/tenants/:id/config-entries",
    {
      schema: {
        tags,
        summary: "The tenant's own config values (no inheritance)",
        description: "Scope: config:read.",
        params: TenantParams,
        response: { 200: z.record(z.string(), ConfigEntry), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "config:read", request.params.id);
      return stratum.getConfig(request.params.id);
    },
  );

  app.get(
    "/tenants/:id/config-diff/:otherId",
    {
      schema: {
        tags,
        summary: "Compare two tenants' resolved config",
        description: "Scope: config:read (on both tenants).",
        params: TenantParams.extend({ otherId: TenantId }),
        response: { 200: ConfigDiff, ...errorResponses },
      },
    },
    async (request) => {
      const principal = await guard.tenant(request, "config:read", request.params.id);
      if (!(await guard.reaches(principal, request.params.otherId))) throw outOfSubtree(request.params.otherId);
      return stratum.diffConfig(request.params.id, request.params.otherId);
    },
  );

  app.get(
    "/tenants/:id/config/:key",
    {
      schema: {
        tags,
        summary: "One resolved key",
        description: "Scope: config:read.",
        params: KeyParams,
        response: { 200: ResolvedConfigEntry, ...errorResponses },
      },
    },
    async (request) => {
      const { id, key } = request.params;
      await guard.tenant(request, "config:read", id);
      const entry = await stratum.resolveConfigKey(id, key);
      if (!entry)
        throw new StratumError("CONFIG_NOT_FOUND", `Tenant ${id} has no value for ${JSON.stringify(key)}, neither its own nor inherited.`, {
          tenantId: id,
          key,
        });
      return entry;
    },
  );

  app.put(
    "/tenants/:id/config/:key",
    {
      schema: {
        tags,
        summary: "Set a key",
        description: "Scope: config:write. Refused with CONFIG_LOCKED under an ancestor's lock.",
        params: KeyParams,
        body: SetBody,
        response: { 200: ConfigEntry, ...errorResponses },
      },
    },
    async (request) => {
      const { id, key } = request.params;
      await guard.tenant(request, "config:write", id);
      return stratum.setConfig(id, key, request.body);
    },
  );

  app.patch(
    "/tenants/:id/config",
    {
      schema: {
        tags,
        summary: "Set several keys",
        description: "Scope: config:write. Each key succeeds or fails on its own; see results.",
        params: TenantParams,
        body: BatchBody,
        response: { 200: BatchOutcome, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "config:write", request.params.id);
      return stratum.setConfigBatch(request.params.id, request.body.entries);
    },
  );

  app.delete(
    "/tenants/:id/config/:key",
    {
      schema: {
        tags,
        summary: "Delete the tenant's own value of a key",
        description: "Scope: config:write.",
        params: KeyParams,
        response: { 204: z.undefined(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id, key } = request.params;
      await guard.tenant(request, "config:write", id);
      await stratum.deleteConfig(id, key);
      return reply.code(204).send();
    },
  );
};
