/** /tenants/:id/audit: the tenant's and its subtree's audit trail, newest first. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses, TenantParams, Timestamp } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const AuditQuery = z
  .object({
    action: z.string().min(1).max(200).optional().describe("Exact action, or a prefix ending in .* (config.*)."),
    actor: z.string().min(1).max(300).optional().describe("Actor id, or <type>:<id> (api_key:<key id>)."),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().regex(/^[0-9]{1,19}$/, "a next_cursor from a previous page").optional(),
  })
  .strict();

const AuditEntry = z.object({
  id: z.string(),
  tenant_id: z.string().nullable(),
  actor: z.object({ id: z.string(), type: z.string() }),
  action: z.string(),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  request_id: z.string().nullable(),
  created_at: Timestamp,
});

export const auditRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  app.get(
    "/tenants/:id/audit",
    {
      schema: {
        tags: ["audit"],
        summary: "Audit entries of the tenant and its subtree",
        description: "Scope: audit:read. Paged by next_cursor, newest first.",
        params: TenantParams,
        querystring: AuditQuery,
        response: { 200: z.object({ entries: z.array(AuditEntry), next_cursor: z.string().nullable() }), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "audit:read", request.params.id);
      return stratum.listAudit(request.params.id, request.query);
    },
  );
};
