/**
 * /api-keys: create, list and revoke control-plane keys (scope keys:admin). A key can only hand
 * out what it holds: the new key's scopes must be among the caller's (unless the caller has `*`),
 * and a tenant key creates keys only for tenants in its own subtree.
 */
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { API_KEY_SCOPES, hasScope, MAX_ROTATION_GRACE_SECONDS } from "../../apikeys/index.js";
import { isStratumError, StratumError } from "../../core/errors.js";
import { ApiKey, errorResponses, QueryBoolean, TenantId } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["api-keys"];

const CreateBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    scopes: z.array(z.enum(API_KEY_SCOPES)).min(1),
    tenant_id: TenantId.nullish().describe("Limit the key to this tenant's subtree; omit for an unrestricted key."),
    environment: z.enum(["live", "test"]).optional().describe("Key prefix sk_live_ (default) or sk_test_."),
    expires_at: z.iso.datetime({ offset: true }).nullish().describe("When the key stops working; none: it does not expire."),
    rate_limit: z.number().int().min(1).max(1_000_000).nullish().describe("Requests per minute for this key, when the server rate-limits."),
  })
  .strict()
  .meta({ examples: [{ name: "CI deploys", scopes: ["tenants:read", "config:write"], tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10", rate_limit: 120 }] });

const KeyParams = z.object({ keyId: z.uuid() });
const RotateBody = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROTATION_GRACE_SECONDS)
      .optional()
      .describe("How long the old key keeps working; default 3600, 0 ends it now."),
    environment: z.enum(["live", "test"]).optional().describe("The new key's prefix; default live."),
  })
  .strict();
const DormantQuery = z
  .object({ days: z.coerce.number().int().min(1).max(3650).default(30).describe("Unused for more than this many days."), tenant_id: TenantId.optional() })
  .strict();

const CreatedKey = ApiKey.extend({ key: z.string().describe("The plaintext key. Shown once: only its hash is stored.") });

const ListQuery = z
  .object({
    tenant_id: TenantId.optional(),
    subtree: QueryBoolean.default(false).describe("Also keys of the tenant's descendants."),
    include_revoked: QueryBoolean.default(false),
  })
  .strict();

export const apiKeyRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  /** keys:admin, and for a tenant key, `keyId` must belong to its subtree (unknown and foreign answer alike). */
  async function mayManage(request: FastifyRequest, keyId: string, what: string): Promise<void> {
    const principal = guard.scope(request, "keys:admin");
    if (principal.tenantId === null) return;
    const key = await stratum.getApiKey(keyId).catch((error: unknown) => {
      if (isStratumError(error, "NOT_FOUND")) return null;
      throw error;
    });
    if (!key?.tenant_id || !(await guard.reaches(principal, key.tenant_id))) {
      throw new StratumError("FORBIDDEN", `This API key cannot ${what} key ${keyId}: it does not exist or belongs outside the key's subtree.`);
    }
  }

  app.post(
    "/api-keys",
    {
      schema: {
        tags,
        summary: "Create an API key",
        description: "Scope: keys:admin. The answer holds the plaintext key, once.",
        body: CreateBody,
        response: { 201: CreatedKey, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const principal = body.tenant_id
        ? await guard.tenant(request, "keys:admin", body.tenant_id)
        : guard.unrestricted(request, "keys:admin", "creating a key without a tenant");
      const beyond = body.scopes.filter((s) => !hasScope(principal.scopes, s));
      if (beyond.length) {
        throw new StratumError("FORBIDDEN", `A key cannot grant scopes it does not hold: ${beyond.join(", ")}.`, { scopes: beyond });
      }
      return reply.code(201).send(await stratum.createApiKey(body));
    },
  );

  app.get(
    "/api-keys",
    {
      schema: {
        tags,
        summary: "List API keys (never their secrets)",
        description: "Scope: keys:admin. A tenant key sees the keys of its subtree.",
        querystring: ListQuery,
        response: { 200: z.array(ApiKey), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const principal = guard.scope(request, "keys:admin");
      if (principal.tenantId === null) return stratum.listApiKeys(q.tenant_id ? q : { include_revoked: q.include_revoked });
      if (!q.tenant_id) return stratum.listApiKeys({ tenant_id: principal.tenantId, subtree: true, include_revoked: q.include_revoked });
      await guard.tenant(request, "keys:admin", q.tenant_id);
      return stratum.listApiKeys(q);
    },
  );

  app.delete(
    "/api-keys/:keyId",
    {
      schema: {
        tags,
        summary: "Revoke an API key",
        description: "Scope: keys:admin. The key stops working at once; the record stays, with revoked_at.",
        params: KeyParams,
        response: { 200: ApiKey, ...errorResponses },
      },
    },
    async (request) => {
      const { keyId } = request.params;
      await mayManage(request, keyId, "revoke");
      return stratum.revokeApiKey(keyId);
    },
  );

  app.post(
    "/api-keys/:keyId/rotate",
    {
      schema: {
        tags,
        summary: "Rotate an API key: a new key now, the old one valid for a grace period",
        description:
          "Scope: keys:admin. The new key copies name, scopes, tenant, expiry and rate limit; its plaintext is shown once. The old key's expires_at becomes now + grace_seconds (or stays, if sooner).",
        params: KeyParams,
        body: RotateBody,
        response: { 201: z.object({ key: CreatedKey, previous: ApiKey }), ...errorResponses },
      },
    },
    async (request, reply) => {
      await mayManage(request, request.params.keyId, "rotate");
      const { grace_seconds, environment } = request.body ?? {};
      const rotated = await stratum.rotateApiKey(request.params.keyId, {
        ...(grace_seconds !== undefined ? { graceSeconds: grace_seconds } : {}),
        ...(environment ? { environment } : {}),
      });
      return reply.code(201).send(rotated);
    },
  );

  app.get(
    "/api-keys/dormant",
    {
      schema: {
        tags,
        summary: "Dormant keys: live keys unused for more than `days` days",
        description: "Scope: keys:admin. Never-used keys count from their creation; oldest use first. A tenant key sees its subtree's keys.",
        querystring: DormantQuery,
        response: { 200: z.array(ApiKey), ...errorResponses },
      },
    },
    async (request) => {
      const principal = guard.scope(request, "keys:admin");
      const { days, tenant_id } = request.query;
      if (tenant_id) await guard.tenant(request, "keys:admin", tenant_id);
      const dormant = await stratum.listDormantApiKeys({ days, ...(tenant_id ? { tenant_id } : {}) });
      if (principal.tenantId === null) return dormant;
      const visible = await Promise.all(dormant.map(async (k) => k.tenant_id !== null && (await guard.reaches(principal, k.tenant_id))));
      return dormant.filter((_, i) => visible[i]);
    },
  );
};
