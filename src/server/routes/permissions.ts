/** /tenants/:id/permissions: delegated permission grants and their resolution. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ConfigKey, errorResponses, JsonValue, KeyParams, Permission, ResolvedPermission, TenantParams } from "../schemas.js";
import { StratumError } from "../../core/errors.js";
import { ROLE_KEY_PREFIX } from "../../roles/index.js";
import type { RouteDeps } from "../types.js";

const tags = ["permissions"];
const Mode = z.enum(["LOCKED", "INHERITED", "DELEGATED"]);
const RevocationMode = z.enum(["CASCADE", "SOFT", "PERMANENT"]);

const CreateBody = z.object({ key: ConfigKey, value: JsonValue, mode: Mode, revocation_mode: RevocationMode.optional() }).strict();
const UpdateBody = z
  .object({ value: JsonValue.optional(), mode: Mode.optional(), revocation_mode: RevocationMode.optional() })
  .strict()
  .refine((b) => b.value !== undefined || b.mode !== undefined || b.revocation_mode !== undefined, "give value, mode or revocation_mode");

/**
 * Roles are stored as permissions under `role:`; written here they would skip the roles routes'
 * checks (roles:write, no scope beyond the caller's) and could widen every holder's scopes.
 */
function refuseRoleKey(key: string): void {
  if (key.startsWith(ROLE_KEY_PREFIX)) {
    throw new StratumError("FORBIDDEN", `Permission keys starting with "${ROLE_KEY_PREFIX}" are roles: change them under /tenants/{id}/roles.`, { key });
  }
}

const RevokeResult = z
  .object({ key: z.string(), revocation_mode: RevocationMode, removed: z.number().int(), tombstone: z.boolean() })
  .meta({ examples: [{ key: "manage_users", revocation_mode: "CASCADE", removed: 3, tombstone: false }] });

export const permissionRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  app.get(
    "/tenants/:id/permissions",
    {
      schema: {
        tags,
        summary: "Resolved permissions (with inheritance)",
        description: "Scope: permissions:read.",
        params: TenantParams,
        response: { 200: z.record(z.string(), ResolvedPermission), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "permissions:read", request.params.id);
      return stratum.resolvePermissions(request.params.id);
    },
  );

  app.get(
    "/tenants/:id/permission-grants",
    {
      schema: {
        tags,
        summary: "The tenant's own grants (tombstones included)",
        description: "Scope: permissions:read.",
        params: TenantParams,
        response: { 200: z.array(Permission), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "permissions:read", request.params.id);
      return stratum.listPermissions(request.params.id);
    },
  );

  app.post(
    "/tenants/:id/permissions",
    {
      schema: {
        tags,
        summary: "Grant a permission",
        description: "Scope: permissions:write.",
        params: TenantParams,
        body: CreateBody,
        response: { 201: Permission, ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "permissions:write", request.params.id);
      refuseRoleKey(request.body.key);
      return reply.code(201).send(await stratum.createPermission(request.params.id, request.body));
    },
  );

  app.patch(
    "/tenants/:id/permissions/:key",
    {
      schema: {
        tags,
        summary: "Change a grant",
        description: "Scope: permissions:write.",
        params: KeyParams,
        body: UpdateBody,
        response: { 200: Permission, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "permissions:write", request.params.id);
      refuseRoleKey(request.params.key);
      return stratum.updatePermission(request.params.id, request.params.key, request.body);
    },
  );

  app.delete(
    "/tenants/:id/permissions/:key",
    {
      schema: {
        tags,
        summary: "Revoke a grant (by its revocation_mode)",
        description: "Scope: permissions:write.",
        params: KeyParams,
        response: { 200: RevokeResult, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "permissions:write", request.params.id);
      refuseRoleKey(request.params.key);
      return stratum.revokePermission(request.params.id, request.params.key);
    },
  );
};
