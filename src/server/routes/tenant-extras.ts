/**
 * Conveniences over the tenant routes: the whole context of one tenant in one call (what a
 * request-scoped middleware needs: the tenant, its resolved config and permissions, where its
 * rows live), creating many tenants in one request with a result per item, the root of a
 * tenant's tree, a slug change, and ancestors / descendants a page at a time.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { isStratumError } from "../../core/errors.js";
import { IsolationStrategies } from "../../core/types.js";
import { describeError } from "../errors.js";
import { errorResponses, ResolvedConfigEntry, ResolvedPermission, Tenant, TenantId, TenantParams } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["tenants"];

const BatchItem = z
  .object({
    name: z.string().trim().min(1).max(200),
    slug: z.string().max(63).optional(),
    parent_id: TenantId.nullish(),
    isolation_strategy: z.enum(IsolationStrategies).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
const BatchBody = z.object({ tenants: z.array(BatchItem).min(1).max(100) }).strict();
const BatchResult = z.object({
  results: z.array(
    z.object({ index: z.number().int(), ok: z.boolean(), tenant: Tenant.optional(), error: z.object({ code: z.string(), message: z.string() }).optional() }),
  ),
  created: z.number().int(),
  failed: z.number().int(),
});

const PageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100).describe("Tenants per page, 1-500."),
    cursor: z.string().max(2000).optional().describe("The next_cursor of the previous page."),
  })
  .strict();
const TenantPage = z.object({ data: z.array(Tenant), next_cursor: z.string().nullable().describe("Pass as cursor for the next page; null on the last page.") });
const SlugBody = z
  .object({ slug: z.string().min(1).max(63).describe("1-63 of a-z, 0-9 and _, starting with a letter.") })
  .strict()
  .meta({ examples: [{ slug: "northstar_msp" }] });

const Context = z.object({
  tenant: Tenant,
  config: z.record(z.string(), ResolvedConfigEntry.optional()),
  permissions: z.record(z.string(), ResolvedPermission),
  isolation: z.object({ strategy: z.enum(IsolationStrategies), placement: z.string().nullable() }),
});

export const tenantExtraRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  app.get(
    "/tenants/:id/context",
    {
      schema: {
        tags,
        summary: "The tenant's context in one call: tenant, resolved config and permissions, isolation",
        description: "Scopes: tenants:read, config:read and permissions:read. Sensitive config values are redacted.",
        params: TenantParams,
        response: { 200: Context, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      await guard.tenant(request, "tenants:read", id);
      guard.scope(request, "config:read");
      guard.scope(request, "permissions:read");
      const [tenant, config, permissions] = await Promise.all([stratum.getTenant(id), stratum.resolveConfig(id), stratum.resolvePermissions(id)]);
      return { tenant, config, permissions, isolation: { strategy: tenant.isolation_strategy, placement: tenant.placement } };
    },
  );

  app.get(
    "/tenants/:id/root",
    {
      schema: {
        tags,
        summary: "The root of the tenant's tree",
        description: "Scope: tenants:read. A tenant key gets the top of what it sees: its own tenant when the real root lies above it.",
        params: TenantParams,
        response: { 200: Tenant, ...errorResponses },
      },
    },
    async (request) => {
      const principal = await guard.tenant(request, "tenants:read", request.params.id);
      const root = await stratum.getRoot(request.params.id);
      return principal.tenantId && !(await guard.reaches(principal, root.id)) ? stratum.getTenant(principal.tenantId) : root;
    },
  );

  app.put(
    "/tenants/:id/slug",
    {
      schema: {
        tags,
        summary: "Change a tenant's slug",
        description: "Scope: tenants:write. The slug is a label: nothing is renamed or moved (homes are named from the id).",
        params: TenantParams,
        body: SlugBody,
        response: { 200: Tenant, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "tenants:write", request.params.id);
      return stratum.changeSlug(request.params.id, request.body.slug);
    },
  );

  app.get(
    "/tenants/:id/descendants/page",
    {
      schema: {
        tags,
        summary: "Descendants depth-first, a page at a time",
        description: "Scope: tenants:read.",
        params: TenantParams,
        querystring: PageQuery,
        response: { 200: TenantPage, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "tenants:read", request.params.id);
      return stratum.getDescendantsPage(request.params.id, { limit: request.query.limit, cursor: request.query.cursor ?? null });
    },
  );

  app.get(
    "/tenants/:id/ancestors/page",
    {
      schema: {
        tags,
        summary: "Ancestors root first, a page at a time",
        description: "Scope: tenants:read. A tenant key sees only the ancestors inside its subtree.",
        params: TenantParams,
        querystring: PageQuery,
        response: { 200: TenantPage, ...errorResponses },
      },
    },
    async (request) => {
      const principal = await guard.tenant(request, "tenants:read", request.params.id);
      const fromDepth = principal.tenantId ? (await stratum.getTenant(principal.tenantId)).depth : 0;
      return stratum.getAncestorsPage(request.params.id, { limit: request.query.limit, cursor: request.query.cursor ?? null, fromDepth });
    },
  );

  app.post(
    "/tenants/batch",
    {
      schema: {
        tags,
        summary: "Create up to 100 tenants, with a result per item",
        description: "Scope: tenants:write. Items run in order, each on its own: a refused item (slug taken, parent out of reach) does not stop the others.",
        body: BatchBody,
        response: { 200: BatchResult, ...errorResponses },
      },
    },
    async (request) => {
      guard.scope(request, "tenants:write");
      const results: z.infer<typeof BatchResult>["results"] = [];
      for (const [index, item] of request.body.tenants.entries()) {
        try {
          if (item.parent_id) await guard.tenant(request, "tenants:write", item.parent_id);
          else guard.unrestricted(request, "tenants:write", "creating a root tenant");
          results.push({ index, ok: true, tenant: await stratum.createTenant(item) });
        } catch (error) {
          // Server-side failures keep their fixed message, exactly as a single create would answer.
          if (!isStratumError(error)) request.log.error({ err: error }, "batch item failed");
          const { payload } = describeError(error);
          results.push({ index, ok: false, error: { code: payload.error.code, message: payload.error.message } });
        }
      }
      const created = results.filter((r) => r.ok).length;
      return { results, created, failed: results.length - created };
    },
  );
};
