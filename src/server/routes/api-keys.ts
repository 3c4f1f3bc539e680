/**
 * /api-keys: create, list and revoke control-plane keys (scope keys:admin). A key can only hand
 * out what it holds: the new key's scopes must be among the caller's (unless the caller has `*`),
 * and a tenant key creates keys only for tenants in its own subtree.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { API_KEY_SCOPES, hasScope } from "../../apikeys/index.js";
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
  })
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
  app.post(
    "/api-keys",
    { schema: { tags, summary: "Create an API key", description: "Scope: keys:admin. The answer holds the plaintext key, once.", body: CreateBody, response: { 201: CreatedKey, ...errorResponses } } },
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
    { schema: { tags, summary: "List API keys (never their secrets)", description: "Scope: keys:admin. A tenant key sees the keys of its subtree.", querystring: ListQuery, response: { 200: z.array(ApiKey), ...errorResponses } } },
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
        params: z.object({ keyId: z.uuid() }),
        response: { 200: ApiKey, ...errorResponses },
      },
    },
    async (request) => {
      const { keyId } = request.params;
      const principal = guard.scope(request, "keys:admin");
      if (principal.tenantId !== null) {
        // Unknown and foreign keys answer alike, as tenants do.
        const key = await stratum.getApiKey(keyId).catch((error: unknown) => {
          if (isStratumError(error, "NOT_FOUND")) return null;
          throw error;
        });
        if (!key?.tenant_id || !(await guard.reaches(principal, key.tenant_id))) {
          throw new StratumError("FORBIDDEN", `This API key cannot revoke key ${keyId}: it does not exist or belongs outside the key's subtree.`);
        }
      }
      return stratum.revokeApiKey(keyId);
    },
  );
};
