/** /tenants: the tree (create, read, list, update, move, status changes, delete). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { isStratumError, StratumError } from "../../core/errors.js";
import { IsolationStrategies, TenantStatuses, type Tenant as TenantRecord } from "../../core/types.js";
import { outOfSubtree } from "../auth.js";
import { errorResponses, QueryBoolean, Tenant, TenantId, TenantList, TenantParams } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["tenants"];

const CreateTenantBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    slug: z.string().max(63).optional().describe("Default: derived from the name."),
    parent_id: TenantId.nullish().describe("Omit for a root tenant (needs a key without a tenant)."),
    isolation_strategy: z.enum(IsolationStrategies).optional(),
    server: z.string().min(1).max(100).optional().describe("DATABASE tenants: the configured server to place the database on."),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const ListQuery = z
  .object({
    parent_id: TenantId.optional(),
    roots: QueryBoolean.optional().describe("true: only top-level tenants (unrestricted keys; a tenant key's top is its own tenant)."),
    status: z.enum(TenantStatuses).optional(),
    isolation_strategy: z.enum(IsolationStrategies).optional(),
    search: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(500).optional(),
  })
  .strict();

const UpdateBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    metadata: z.record(z.string(), z.unknown()).optional().describe("Replaces the metadata object."),
  })
  .strict();

const MoveBody = z.object({ parent_id: TenantId.nullable().describe("null moves the tenant to the top (unrestricted keys only).") }).strict();
const DeleteQuery = z.object({ cascade: QueryBoolean.default(false) }).strict();

function matches(t: TenantRecord, q: z.output<typeof ListQuery>): boolean {
  if (q.status && t.status !== q.status) return false;
  if (q.isolation_strategy && t.isolation_strategy !== q.isolation_strategy) return false;
  if (q.search) {
    const s = q.search.toLowerCase();
    if (!t.name.toLowerCase().includes(s) && !t.slug.toLowerCase().includes(s)) return false;
  }
  return true;
}

/**
 * A tenant key listing without parent_id sees its own subtree (depth-first); the cursor is an
 * offset into it. The service's list spans the whole table, which such a key must not see.
 */
async function listSubtree(deps: RouteDeps, rootId: string, q: z.output<typeof ListQuery>) {
  const offset = q.cursor === undefined ? 0 : /^[0-9]{1,9}$/.test(q.cursor) ? Number(q.cursor) : Number.NaN;
  if (Number.isNaN(offset)) {
    throw new StratumError("VALIDATION_FAILED", "Invalid cursor: pass the next_cursor of a previous page unchanged.");
  }
  const all = [await deps.stratum.getTenant(rootId), ...(await deps.stratum.getDescendants(rootId))].filter((t) => matches(t, q));
  const data = all.slice(offset, offset + q.limit);
  return { data, next_cursor: offset + q.limit < all.length ? String(offset + q.limit) : null };
}

export const tenantRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, deps) => {
  const { stratum, guard } = deps;

  app.post(
    "/tenants",
    {
      schema: { tags, summary: "Create a tenant", description: "Scope: tenants:write.", body: CreateTenantBody, response: { 201: Tenant, ...errorResponses } },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.parent_id) await guard.tenant(request, "tenants:write", body.parent_id);
      else guard.unrestricted(request, "tenants:write", "creating a root tenant");
      return reply.code(201).send(await stratum.createTenant(body));
    },
  );

  app.get(
    "/tenants",
    {
      schema: {
        tags,
        summary: "List tenants",
        description: "Scope: tenants:read. A tenant key sees its own subtree.",
        querystring: ListQuery,
        response: { 200: TenantList, ...errorResponses },
      },
    },
    async (request) => {
      const { roots, ...q } = request.query;
      const principal = guard.scope(request, "tenants:read");
      if (q.parent_id) await guard.tenant(request, "tenants:read", q.parent_id);
      else if (principal.tenantId) {
        if (roots) return { data: [await stratum.getTenant(principal.tenantId)].filter((t) => matches(t, { ...q, roots })), next_cursor: null };
        return listSubtree(deps, principal.tenantId, q);
      }
      return stratum.listTenants(roots && !q.parent_id ? { ...q, parent_id: null } : q);
    },
  );

  app.get(
    "/tenants/by-slug/:slug",
    {
      schema: {
        tags,
        summary: "Find a tenant by slug",
        description: "Scope: tenants:read.",
        params: z.object({ slug: z.string().min(1).max(63) }),
        response: { 200: Tenant, ...errorResponses },
      },
    },
    async (request) => {
      const principal = guard.scope(request, "tenants:read");
      try {
        const tenant = await stratum.getTenantBySlug(request.params.slug);
        if (await guard.reaches(principal, tenant.id)) return tenant;
      } catch (error) {
        if (!principal.tenantId || !isStratumError(error, "TENANT_NOT_FOUND")) throw error;
      }
      throw new StratumError(
        "FORBIDDEN",
        `This API key cannot read tenant ${JSON.stringify(request.params.slug)}: it does not exist or lies outside the key's subtree.`,
      );
    },
  );

  app.get(
    "/tenants/:id",
    { schema: { tags, summary: "Get a tenant", description: "Scope: tenants:read.", params: TenantParams, response: { 200: Tenant, ...errorResponses } } },
    async (request) => {
      await guard.tenant(request, "tenants:read", request.params.id);
      return stratum.getTenant(request.params.id);
    },
  );

  app.patch(
    "/tenants/:id",
    {
      schema: {
        tags,
        summary: "Rename a tenant or replace its metadata",
        description: "Scope: tenants:write. The slug, parent and isolation strategy have their own operations.",
        params: TenantParams,
        body: UpdateBody,
        response: { 200: Tenant, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "tenants:write", request.params.id);
      return stratum.updateTenant(request.params.id, request.body);
    },
  );

  app.get(
    "/tenants/:id/children",
    {
      schema: {
        tags,
        summary: "Direct children",
        description: "Scope: tenants:read.",
        params: TenantParams,
        response: { 200: z.array(Tenant), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "tenants:read", request.params.id);
      return stratum.getChildren(request.params.id);
    },
  );

  app.get(
    "/tenants/:id/ancestors",
    {
      schema: {
        tags,
        summary: "Ancestors, root first",
        description: "Scope: tenants:read. A tenant key sees only the ancestors inside its subtree.",
        params: TenantParams,
        response: { 200: z.array(Tenant), ...errorResponses },
      },
    },
    async (request) => {
      const principal = await guard.tenant(request, "tenants:read", request.params.id);
      const ancestors = await stratum.getAncestors(request.params.id);
      const limit = principal.tenantId;
      return limit ? ancestors.filter((a) => a.path.includes(limit)) : ancestors;
    },
  );

  app.get(
    "/tenants/:id/descendants",
    {
      schema: {
        tags,
        summary: "Descendants, depth-first",
        description: "Scope: tenants:read.",
        params: TenantParams,
        response: { 200: z.array(Tenant), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "tenants:read", request.params.id);
      return stratum.getDescendants(request.params.id);
    },
  );

  app.post(
    "/tenants/:id/move",
    {
      schema: {
        tags,
        summary: "Move a tenant (and its subtree) under another parent",
        description: "Scope: tenants:write.",
        params: TenantParams,
        body: MoveBody,
        response: { 200: Tenant, ...errorResponses },
      },
    },
    async (request) => {
      const principal = await guard.tenant(request, "tenants:write", request.params.id);
      const to = request.body.parent_id;
      if (to === null) guard.unrestricted(request, "tenants:write", "moving a tenant to the top");
      else if (!(await guard.reaches(principal, to))) throw outOfSubtree(to);
      return stratum.moveTenant(request.params.id, to);
    },
  );

  for (const [verb, action] of [
    ["suspend", "suspendTenant"],
    ["archive", "archiveTenant"],
    ["restore", "restoreTenant"],
  ] as const) {
    app.post(
      `/tenants/:id/${verb}`,
      {
        schema: {
          tags,
          summary: `${verb[0]!.toUpperCase()}${verb.slice(1)} a tenant`,
          description: "Scope: tenants:write.",
          params: TenantParams,
          response: { 200: Tenant, ...errorResponses },
        },
      },
      async (request) => {
        await guard.tenant(request, "tenants:write", request.params.id);
        return stratum[action](request.params.id);
      },
    );
  }

  app.delete(
    "/tenants/:id",
    {
      schema: {
        tags,
        summary: "Delete a tenant",
        description: "Scope: tenants:write. With cascade=true, its whole subtree (data, config, keys, webhooks).",
        params: TenantParams,
        querystring: DeleteQuery,
        response: {
          200: z.object({ deleted: z.array(z.string()) }).meta({ examples: [{ deleted: ["0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10"] }] }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await guard.tenant(request, "tenants:write", request.params.id);
      return stratum.deleteTenant(request.params.id, { cascade: request.query.cascade });
    },
  );
};
