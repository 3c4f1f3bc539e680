/**
 * GDPR and consent over HTTP: tenant export (Art. 20) and purge (Art. 17), one data subject's
 * export and erasure, and consent records. Every route checks the tenant against the key's
 * subtree first, so a tenant key can neither reach a sibling's data nor learn that it exists.
 *
 * Exports are streamed: the service yields JSON text batch by batch and the reply forwards each
 * chunk as it comes, so a large tenant never sits in the server's memory as one document.
 */
import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { StratumError } from "../../core/errors.js";
import { errorResponses, QueryBoolean, TenantParams, Timestamp } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const gdprTags = ["gdpr"];
const consentTags = ["consent"];

/** The same bounds the GDPR and consent services apply, checked here so a bad id is a 400 with zod's issues. */
const SubjectId = z.string().min(1).max(200);
const Purpose = z.string().regex(/^[a-z][a-z0-9_.:-]{0,99}$/, "lower-case purpose like marketing_email");
const SubjectParams = TenantParams.extend({ subjectId: SubjectId });

const ExportDocument = z
  .record(z.string(), z.unknown())
  .describe("One JSON document (format stratum-prisma/tenant-export@1 or subject-export), streamed as it is read.")
  .meta({
    examples: [
      {
        format: "stratum-prisma/tenant-export@1",
        tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
        exported_at: "2026-12-06T09:30:00.000Z",
        tenant: { id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10", slug: "client_alpha" },
        stratum: { config: [], permissions: [], consents: [] },
        sources: { shared: { users: [{ id: "…", email: "ana@example.com" }] } },
        counts: { "stratum.config": 0, "shared.users": 1 },
      },
    ],
  });

const PurgeBody = z
  .object({
    confirm: z.string().min(1).max(63).describe("The tenant's slug, typed out: the purge is refused unless it matches."),
    keep_home: z.boolean().optional().describe("Keep the emptied schema or database instead of dropping it."),
  })
  .strict()
  .meta({ examples: [{ confirm: "client_alpha" }] });

const PurgeResult = z.object({
  tenant_id: z.string(),
  counts: z.record(z.string(), z.number()).describe('Rows deleted, keyed "<source>.<table>" and "stratum.<table>".'),
  home_removed: z.string().nullable(),
  home_error: z.string().optional(),
});

const EraseQuery = z
  .object({ keep_consents: QueryBoolean.default(false).describe("Keep the subject's consent history (proof of lawful processing).") })
  .strict();
const EraseResult = z
  .object({ counts: z.record(z.string(), z.number()) })
  .meta({ examples: [{ counts: { "shared.tickets": 3, "shared.users": 1, "stratum.stratum_consents": 2 } }] });

const Consent = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    subject_id: z.string(),
    purpose: z.string(),
    granted: z.boolean(),
    source: z.string().nullable(),
    created_at: Timestamp,
  })
  .meta({
    examples: [
      {
        id: "a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d",
        tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
        subject_id: "user_42",
        purpose: "marketing_email",
        granted: true,
        source: "signup_form",
        created_at: "2026-12-06T09:30:00.000Z",
      },
    ],
  });

const ConsentBody = z
  .object({
    purpose: Purpose,
    granted: z.boolean().describe("true grants, false withdraws; either way a new record is appended."),
    source: z.string().min(1).max(200).nullable().optional().describe("Where it was given: signup_form, support_call, …"),
    subject_id: SubjectId.optional().describe("The service's ConsentInput shape; must equal the path's subject when given."),
  })
  .strict()
  .meta({ examples: [{ purpose: "marketing_email", granted: true, source: "signup_form" }] });

const HistoryQuery = z.object({ purpose: Purpose.optional() }).strict();

/** ASCII-only and quote-free, so the header needs no encoding; slugs already are, this is for safety. */
const fileName = (slug: string, what: string) => `${slug.replace(/[^A-Za-z0-9_.-]/g, "_")}-${what}.json`;

/**
 * Sends the chunks as they come. The first chunk is awaited before any header goes out: the
 * service checks the tenant and opens its sources lazily, and an error there must still become
 * a JSON error answer rather than a cut-off 200.
 */
async function streamJson(reply: FastifyReply, chunks: AsyncIterable<string>, filename: string): Promise<FastifyReply> {
  const iterator = chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  async function* rest(): AsyncGenerator<string> {
    if (first.done) return;
    let finished = false;
    try {
      yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      finished = true;
    } finally {
      // A client that hangs up mid-export: let the service close its cursors and release its connections now.
      if (!finished) await iterator.return?.();
    }
  }
  const body = Readable.from(rest(), { objectMode: false });
  // A failure after the headers can only cut the connection (the client sees truncated JSON); log why.
  body.on("error", (error) => reply.log.error({ err: error }, "export stream failed"));
  return reply
    .type("application/json; charset=utf-8")
    .header("content-disposition", `attachment; filename="${filename}"`)
    .header("cache-control", "no-store")
    .send(body);
}

export const complianceRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  app.get(
    "/tenants/:id/export",
    {
      schema: {
        tags: gdprTags,
        summary: "Export every row the tenant owns (GDPR Art. 20)",
        description: "Scope: gdpr:export. Streamed application/json, as an attachment named <slug>-export.json.",
        params: TenantParams,
        response: { 200: ExportDocument, ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "gdpr:export", request.params.id);
      const tenant = await stratum.getTenant(request.params.id);
      return streamJson(reply, stratum.exportTenantData(tenant.id), fileName(tenant.slug, "export"));
    },
  );

  app.post(
    "/tenants/:id/purge",
    {
      schema: {
        tags: gdprTags,
        summary: "Delete the tenant and every row it owns (GDPR Art. 17)",
        description:
          "Scope: gdpr:erase. Irreversible: `confirm` must equal the tenant's slug. Refused for a tenant with children. Leaves a gdpr.purge audit tombstone under the parent.",
        params: TenantParams,
        body: PurgeBody,
        response: { 200: PurgeResult, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "gdpr:erase", request.params.id);
      const tenant = await stratum.getTenant(request.params.id);
      if (request.body.confirm !== tenant.slug) {
        // The slug is not echoed: the caller proves it knows which tenant it is destroying.
        throw new StratumError("VALIDATION_FAILED", "Purge refused: `confirm` must equal the tenant's slug.", { field: "confirm" });
      }
      return stratum.purgeTenant(tenant.id, { keepHome: request.body.keep_home ?? false });
    },
  );

  app.get(
    "/tenants/:id/subjects/:subjectId/export",
    {
      schema: {
        tags: gdprTags,
        summary: "Export one data subject's rows and consents (GDPR Art. 15/20)",
        description: "Scope: gdpr:export. Streamed application/json, as an attachment named <slug>-subject-export.json.",
        params: SubjectParams,
        response: { 200: ExportDocument, ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "gdpr:export", request.params.id);
      const tenant = await stratum.getTenant(request.params.id);
      // The subject id stays out of the file name: it may be personal data, and headers end up in logs.
      return streamJson(reply, stratum.exportSubjectData(tenant.id, request.params.subjectId), fileName(tenant.slug, "subject-export"));
    },
  );

  app.delete(
    "/tenants/:id/subjects/:subjectId",
    {
      schema: {
        tags: gdprTags,
        summary: "Erase one data subject's rows (GDPR Art. 17)",
        description: "Scope: gdpr:erase. Deletes children first; also the consents unless keep_consents=true. Audited as gdpr.subject_erase (hashed subject).",
        params: SubjectParams,
        querystring: EraseQuery,
        response: { 200: EraseResult, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "gdpr:erase", request.params.id);
      return stratum.eraseSubject(request.params.id, request.params.subjectId, { keepConsents: request.query.keep_consents });
    },
  );

  app.get(
    "/tenants/:id/subjects/:subjectId/consents",
    {
      schema: {
        tags: consentTags,
        summary: "The subject's current consent per purpose",
        description: "Scope: consent:read. The latest record per purpose, granted or withdrawn.",
        params: SubjectParams,
        response: { 200: z.array(Consent), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "consent:read", request.params.id);
      return stratum.listConsents(request.params.id, request.params.subjectId);
    },
  );

  app.get(
    "/tenants/:id/subjects/:subjectId/consents/history",
    {
      schema: {
        tags: consentTags,
        summary: "Every consent record of the subject, oldest first",
        description: "Scope: consent:read. One purpose with ?purpose=, else all.",
        params: SubjectParams,
        querystring: HistoryQuery,
        response: { 200: z.array(Consent), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "consent:read", request.params.id);
      return stratum.consentHistory(request.params.id, request.params.subjectId, request.query.purpose);
    },
  );

  app.post(
    "/tenants/:id/subjects/:subjectId/consents",
    {
      schema: {
        tags: consentTags,
        summary: "Record a consent grant or withdrawal",
        description: "Scope: consent:write. Appends a record (history is never rewritten); audited as consent.grant / consent.withdraw.",
        params: SubjectParams,
        body: ConsentBody,
        response: { 201: Consent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "consent:write", request.params.id);
      const { subject_id, purpose, granted, source } = request.body;
      if (subject_id !== undefined && subject_id !== request.params.subjectId) {
        throw new StratumError("VALIDATION_FAILED", "subject_id in the body must match the subject in the path.", { field: "subject_id" });
      }
      const record = await stratum.recordConsent(request.params.id, { subject_id: request.params.subjectId, purpose, granted, source: source ?? null });
      return reply.code(201).send(record);
    },
  );
};
