/**
 * /tenants/:id/roles and role assignments. Roles are permissions (key `role:<name>`) and inherit
 * like them; an assignment gives an API key or one of the app's users a role at a tenant and its
 * subtree. Nobody hands out more than they hold: a role's scopes, and the scopes of a role
 * assigned, must all be the caller's own at that tenant (a `*` caller holds every scope).
 */
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { hasScope, type ApiKeyScope } from "../../apikeys/index.js";
import { StratumError } from "../../core/errors.js";
import { PrincipalTypes } from "../../roles/index.js";
import type { Principal } from "../auth.js";
import { errorResponses, TenantParams, Timestamp } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["roles"];
const Mode = z.enum(["LOCKED", "INHERITED", "DELEGATED"]);
const RevocationMode = z.enum(["CASCADE", "SOFT", "PERMANENT"]);
const RoleName = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "a lower-case name: a letter, then letters, digits or _");
const Scope = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_*][A-Za-z0-9_.:*/-]*$/);
const PrincipalType = z.enum(PrincipalTypes).describe("api_key: the key's id; user: the app's own user id.");

const RoleParams = TenantParams.extend({ name: RoleName });
const AssignmentParams = TenantParams.extend({ principalType: PrincipalType, principalId: z.string().min(1).max(255), role: RoleName });
const PrincipalParams = TenantParams.extend({ principalType: PrincipalType, principalId: z.string().min(1).max(255) });

const DefineBody = z
  .object({
    name: RoleName,
    scopes: z.array(Scope).min(1).max(100),
    description: z.string().max(500).optional(),
    mode: Mode.optional().describe("As for permissions; default INHERITED (descendants may override the scopes)."),
    revocation_mode: RevocationMode.optional(),
  })
  .strict()
  .meta({ examples: [{ name: "auditor", scopes: ["audit:read", "tenants:read"], description: "Reads the audit trail", mode: "LOCKED" }] });
const UpdateBody = z
  .object({
    scopes: z.array(Scope).min(1).max(100).optional(),
    description: z.string().max(500).optional(),
    mode: Mode.optional(),
    revocation_mode: RevocationMode.optional(),
  })
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), "give scopes, description, mode or revocation_mode")
  .meta({ examples: [{ scopes: ["audit:read"] }] });
const AssignBody = z
  .object({ principal_type: PrincipalType, principal_id: z.string().trim().min(1).max(255), role: RoleName })
  .strict()
  .meta({ examples: [{ principal_type: "user", principal_id: "user_42", role: "auditor" }] });
const AssignmentQuery = z.object({ principal_type: PrincipalType.optional(), principal_id: z.string().min(1).max(255).optional() }).strict();

const Role = z.object({
  name: z.string(),
  tenant_id: z.string(),
  scopes: z.array(z.string()),
  description: z.string().nullable(),
  mode: Mode,
  revocation_mode: RevocationMode,
  delegated_from: z.string().nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
const EXAMPLE_TENANT = "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10";
const ResolvedRole = z.object({
  name: z.string(),
  scopes: z.array(z.string()),
  description: z.string().nullable(),
  mode: Mode,
  source_tenant_id: z.string(),
  locked: z.boolean(),
  delegated: z.boolean(),
});
const ResolvedRoles = z.array(ResolvedRole).meta({
  examples: [
    [{ name: "auditor", scopes: ["audit:read"], description: null, mode: "LOCKED", source_tenant_id: EXAMPLE_TENANT, locked: true, delegated: false }],
  ],
});
const Assignment = z.object({
  id: z.string(),
  tenant_id: z.string(),
  principal_type: PrincipalType,
  principal_id: z.string(),
  role: z.string(),
  created_at: Timestamp,
});
const AssignmentExample = {
  id: "6f1e2d3c-4b5a-4968-8776-655443322110",
  tenant_id: EXAMPLE_TENANT,
  principal_type: "user",
  principal_id: "user_42",
  role: "auditor",
  created_at: "2026-12-06T09:30:00.000Z",
};
const Assignments = z.array(Assignment).meta({ examples: [[AssignmentExample]] });
const RemovedRole = z
  .object({ name: z.string(), revocation_mode: RevocationMode, removed: z.number().int(), tombstone: z.boolean() })
  .meta({ examples: [{ name: "auditor", revocation_mode: "CASCADE", removed: 2, tombstone: false }] });
const Unassigned = z.object({ removed: z.boolean() }).meta({ examples: [{ removed: true }] });
const PrincipalScopes = z
  .object({
    tenant_id: z.string(),
    principal: z.object({ type: PrincipalType, id: z.string() }),
    scopes: z.array(z.string()),
    roles: z.array(z.object({ role: z.string(), assigned_at: z.string(), scopes: z.array(z.string()), resolved: z.boolean() })),
  })
  .meta({
    examples: [
      {
        tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
        principal: { type: "user", id: "user_42" },
        scopes: ["audit:read"],
        roles: [{ role: "auditor", assigned_at: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10", scopes: ["audit:read"], resolved: true }],
      },
    ],
  });

function refuseBeyond(principal: Principal, scopes: readonly string[], what: string): void {
  const beyond = scopes.filter((s) => !principal.scopes.includes("*") && !principal.scopes.includes(s));
  if (beyond.length) throw new StratumError("FORBIDDEN", `${what} would give scopes this API key does not hold: ${beyond.join(", ")}.`, { scopes: beyond });
}

export const roleRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  /** The caller with `needed` at the tenant; for an API key as holder, keys:admin and reach over that key too. */
  async function mayAssign(request: FastifyRequest, tenantId: string, type: string, id: string): Promise<Principal> {
    const principal = await guard.tenant(request, "roles:write", tenantId);
    if (type !== "api_key") return principal;
    if (!hasScope(principal.scopes, "keys:admin" satisfies ApiKeyScope)) {
      throw new StratumError("FORBIDDEN", "Giving an API key a role also needs the scope keys:admin.", { required_scope: "keys:admin" });
    }
    if (principal.tenantId !== null) {
      const key = await stratum.getApiKey(id).catch(() => null);
      if (!key?.tenant_id || !(await guard.reaches(principal, key.tenant_id))) {
        throw new StratumError("FORBIDDEN", `This API key cannot manage key ${id}: it does not exist or belongs outside the key's subtree.`);
      }
    }
    return principal;
  }

  app.get(
    "/tenants/:id/roles",
    {
      schema: {
        tags,
        summary: "Roles as the tenant resolves them (own and inherited)",
        description: "Scope: roles:read.",
        params: TenantParams,
        response: { 200: ResolvedRoles, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "roles:read", request.params.id);
      return stratum.listRoles(request.params.id);
    },
  );

  app.post(
    "/tenants/:id/roles",
    {
      schema: {
        tags,
        summary: "Define a role (a named set of scopes)",
        description: "Scope: roles:write; every scope must be the caller's own.",
        params: TenantParams,
        body: DefineBody,
        response: { 201: Role, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = await guard.tenant(request, "roles:write", request.params.id);
      refuseBeyond(principal, request.body.scopes, `Role "${request.body.name}"`);
      return reply.code(201).send(await stratum.defineRole(request.params.id, request.body));
    },
  );

  app.patch(
    "/tenants/:id/roles/:name",
    {
      schema: {
        tags,
        summary: "Change a role's scopes, description or mode",
        description: "Scope: roles:write; every scope must be the caller's own.",
        params: RoleParams,
        body: UpdateBody,
        response: { 200: Role, ...errorResponses },
      },
    },
    async (request) => {
      const principal = await guard.tenant(request, "roles:write", request.params.id);
      refuseBeyond(principal, request.body.scopes ?? [], `Role "${request.params.name}"`);
      return stratum.updateRole(request.params.id, request.params.name, request.body);
    },
  );

  app.delete(
    "/tenants/:id/roles/:name",
    {
      schema: {
        tags,
        summary: "Delete a role (by its revocation_mode)",
        description: "Scope: roles:write.",
        params: RoleParams,
        response: { 200: RemovedRole, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "roles:write", request.params.id);
      return stratum.deleteRole(request.params.id, request.params.name);
    },
  );

  app.get(
    "/tenants/:id/role-assignments",
    {
      schema: {
        tags,
        summary: "Who holds which role at this tenant",
        description: "Scope: roles:read. Give principal_type and principal_id together to see one holder.",
        params: TenantParams,
        querystring: AssignmentQuery,
        response: { 200: Assignments, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "roles:read", request.params.id);
      const { principal_type: type, principal_id: id } = request.query;
      if ((type === undefined) !== (id === undefined))
        throw new StratumError("VALIDATION_FAILED", "Give principal_type and principal_id together, or neither.");
      return stratum.listRoleAssignments(request.params.id, type && id ? { type, id } : undefined);
    },
  );

  app.post(
    "/tenants/:id/role-assignments",
    {
      schema: {
        tags,
        summary: "Assign a role to an API key or a user",
        description: "Scope: roles:write (and keys:admin for an API key); the role's scopes must be the caller's own. Assigning twice is not an error.",
        params: TenantParams,
        body: AssignBody,
        response: { 201: Assignment, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { principal_type: type, principal_id: id, role } = request.body;
      const principal = await mayAssign(request, request.params.id, type, id);
      const resolved = await stratum.resolveRole(request.params.id, role);
      refuseBeyond(principal, resolved?.scopes ?? [], `Assigning role "${role}"`);
      return reply.code(201).send(await stratum.assignRole(request.params.id, { type, id }, role));
    },
  );

  app.delete(
    "/tenants/:id/role-assignments/:principalType/:principalId/:role",
    {
      schema: {
        tags,
        summary: "Take a role away",
        description: "Scope: roles:write (and keys:admin for an API key).",
        params: AssignmentParams,
        response: { 200: Unassigned, ...errorResponses },
      },
    },
    async (request) => {
      const { id: tenantId, principalType: type, principalId: id, role } = request.params;
      await mayAssign(request, tenantId, type, id);
      return { removed: await stratum.unassignRole(tenantId, { type, id }, role) };
    },
  );

  app.get(
    "/tenants/:id/principals/:principalType/:principalId/scopes",
    {
      schema: {
        tags,
        summary: "Every scope a principal holds here through its roles (one call)",
        description: "Scope: roles:read.",
        params: PrincipalParams,
        response: { 200: PrincipalScopes, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "roles:read", request.params.id);
      return stratum.resolvePrincipalScopes(request.params.id, { type: request.params.principalType, id: request.params.principalId });
    },
  );
};
