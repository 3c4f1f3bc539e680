/**
 * /tenants/:id/audit: the tenant's and its subtree's audit trail, newest first; one entry; an
 * NDJSON export of every matching entry; and the app's own events appended to the same trail.
 */
import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { APP_ACTOR_TYPE, AppEventResource } from "../../audit/index.js";
import { errorResponses, TenantParams, Timestamp } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const AuditQuery = z
  .object({
    action: z.string().min(1).max(200).optional().describe("Exact action, or a prefix ending in .* (config.*)."),
    actor: z.string().min(1).max(300).optional().describe("Actor id, or <type>:<id> (api_key:<key id>)."),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z
      .string()
      .regex(/^[0-9]{1,19}$/, "a next_cursor from a previous page")
      .optional(),
  })
  .strict();

const ExportQuery = AuditQuery.omit({ limit: true, cursor: true });
const EntryParams = TenantParams.extend({ entryId: z.string().regex(/^[0-9]{1,19}$/, "an audit entry id") });

const AppEvent = z
  .object({
    actor: z
      .object({
        id: z.string().min(1).max(200),
        type: z.string().regex(APP_ACTOR_TYPE).optional().describe("Default user."),
      })
      .strict(),
    action: z.string().min(3).max(100).describe("A dotted verb outside stratum's namespaces (tenant., config., …), e.g. report.export."),
    resource: AppEventResource.optional(),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
    occurred_at: z.iso.datetime({ offset: true }).optional().describe("When it happened; default now."),
  })
  .strict()
  .meta({ examples: [{ actor: { id: "user_42" }, action: "report.export", resource: { type: "report", id: "q4-usage" } }] });

const AuditEntry = z
  .object({
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
  })
  .meta({
    examples: [
      {
        id: "1042",
        tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
        actor: { id: "3c2b1a09-8f7e-4d6c-b5a4-93827160f5e4", type: "api_key" },
        action: "config.set",
        target_type: "config",
        target_id: "max_users",
        before: { value: 500 },
        after: { value: 1000 },
        request_id: "req-7",
        created_at: "2026-12-06T09:30:00.000Z",
      },
    ],
  });

const AuditPage = z.object({ entries: z.array(AuditEntry), next_cursor: z.string().nullable() }).meta({
  examples: [
    {
      entries: [
        {
          id: "1042",
          tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
          actor: { id: "user_42", type: "user" },
          action: "report.export",
          target_type: "report",
          target_id: "q4-usage",
          before: null,
          after: null,
          request_id: null,
          created_at: "2026-12-06T09:30:00.000Z",
        },
      ],
      next_cursor: "1041",
    },
  ],
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
        response: { 200: AuditPage, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "audit:read", request.params.id);
      return stratum.listAudit(request.params.id, request.query);
    },
  );

  app.get(
    "/tenants/:id/audit/export",
    {
      schema: {
        tags: ["audit"],
        summary: "Every matching audit entry as NDJSON, newest first",
        description: "Scope: audit:read. application/x-ndjson, one entry per line, streamed page by page; the same filters as the list.",
        params: TenantParams,
        querystring: ExportQuery,
        response: { 200: z.string().describe("One JSON audit entry per line."), ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "audit:read", request.params.id);
      // The first page before the headers: an unknown tenant or a bad filter is still a JSON error.
      const first = await stratum.listAudit(request.params.id, { ...request.query, limit: 500 });
      async function* lines(): AsyncGenerator<string> {
        let page = first;
        for (;;) {
          for (const entry of page.entries) yield `${JSON.stringify(entry)}\n`;
          if (!page.next_cursor) return;
          page = await stratum.listAudit(request.params.id, { ...request.query, limit: 500, cursor: page.next_cursor });
        }
      }
      const body = Readable.from(lines(), { objectMode: false });
      body.on("error", (error) => reply.log.error({ err: error }, "audit export failed"));
      // Untyped reply: the stream is not the documented string, it yields it.
      const raw: FastifyReply = reply;
      return raw.type("application/x-ndjson; charset=utf-8").header("cache-control", "no-store").send(body);
    },
  );

  app.get(
    "/tenants/:id/audit/:entryId",
    {
      schema: {
        tags: ["audit"],
        summary: "One audit entry of the tenant's subtree",
        description: "Scope: audit:read.",
        params: EntryParams,
        response: { 200: AuditEntry, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "audit:read", request.params.id);
      return stratum.getAuditEntry(request.params.id, request.params.entryId);
    },
  );

  app.post(
    "/tenants/:id/audit",
    {
      schema: {
        tags: ["audit"],
        summary: "Append the app's own event to the tenant's audit trail",
        description: "Scope: audit:write. The actor is the app's user (not the API key); actions under stratum's own namespaces are refused.",
        params: TenantParams,
        body: AppEvent,
        response: { 201: AuditEntry, ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "audit:write", request.params.id);
      const { actor, occurred_at, ...rest } = request.body;
      const entry = await stratum.appendAudit(request.params.id, {
        ...rest,
        actor: { id: actor.id, ...(actor.type ? { type: actor.type } : {}) },
        ...(occurred_at ? { occurred_at } : {}),
        request_id: String(request.id),
      });
      return reply.code(201).send(entry);
    },
  );
};
