/**
 * /tenants/:id/webhooks: a tenant's webhooks. Addressed under the tenant (not /webhooks/:id) so
 * the subtree check sees the owner; a webhook id of another tenant answers 404 like an unknown one.
 * Needs `stratum({ webhooks })`; otherwise the service refuses with VALIDATION_FAILED.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { StratumError } from "../../core/errors.js";
import { errorResponses, TenantParams, Timestamp } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["webhooks"];
const Webhook = z
  .object({ id: z.string(), tenant_id: z.string(), url: z.string(), events: z.array(z.string()), active: z.boolean(), created_at: Timestamp })
  .meta({
    examples: [
      {
        id: "c4d3e2f1-a0b9-4c8d-9e7f-6a5b4c3d2e1f",
        tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
        url: "https://hooks.example.com/stratum",
        events: ["tenant.*", "config.updated"],
        active: true,
        created_at: "2026-12-06T09:30:00.000Z",
      },
    ],
  });
const Events = z.array(z.string().min(1).max(200)).min(1).describe("Exact types (tenant.created), prefixes (tenant.*) or *.");
const CreateFields = z.object({ url: z.url(), events: Events, active: z.boolean().optional() }).strict();
const CreateBody = CreateFields.meta({ examples: [{ url: "https://hooks.example.com/stratum", events: ["tenant.*"] }] });
const PatchBody = CreateFields.partial()
  .strict()
  .meta({ examples: [{ active: false }] });
const WebhookParams = TenantParams.extend({ webhookId: z.uuid() });

export const webhookRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  /** The webhook, if it belongs to the tenant. */
  async function owned(tenantId: string, webhookId: string) {
    const hook = (await stratum.listWebhooks(tenantId)).find((w) => w.id === webhookId);
    if (!hook) throw new StratumError("NOT_FOUND", `Tenant ${tenantId} has no webhook ${webhookId}.`);
    return hook;
  }

  app.get(
    "/tenants/:id/webhooks",
    {
      schema: {
        tags,
        summary: "The tenant's webhooks",
        description: "Scope: webhooks:read.",
        params: TenantParams,
        response: { 200: z.array(Webhook), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "webhooks:read", request.params.id);
      return stratum.listWebhooks(request.params.id);
    },
  );

  app.post(
    "/tenants/:id/webhooks",
    {
      schema: {
        tags,
        summary: "Register a webhook",
        description: "Scope: webhooks:write. The answer holds the signing secret, once.",
        params: TenantParams,
        body: CreateBody,
        response: { 201: z.object({ webhook: Webhook, secret: z.string() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "webhooks:write", request.params.id);
      return reply.code(201).send(await stratum.registerWebhook(request.params.id, request.body));
    },
  );

  app.patch(
    "/tenants/:id/webhooks/:webhookId",
    {
      schema: {
        tags,
        summary: "Change a webhook",
        description: "Scope: webhooks:write.",
        params: WebhookParams,
        body: PatchBody,
        response: { 200: Webhook, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "webhooks:write", request.params.id);
      await owned(request.params.id, request.params.webhookId);
      return stratum.updateWebhook(request.params.webhookId, request.body);
    },
  );

  app.post(
    "/tenants/:id/webhooks/:webhookId/rotate-secret",
    {
      schema: {
        tags,
        summary: "Replace the signing secret",
        description: "Scope: webhooks:write. The old secret stops signing at once.",
        params: WebhookParams,
        response: { 200: z.object({ secret: z.string() }).meta({ examples: [{ secret: "whsec_4f9c…" }] }), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "webhooks:write", request.params.id);
      await owned(request.params.id, request.params.webhookId);
      return { secret: await stratum.rotateWebhookSecret(request.params.webhookId) };
    },
  );

  app.delete(
    "/tenants/:id/webhooks/:webhookId",
    {
      schema: {
        tags,
        summary: "Delete a webhook",
        description: "Scope: webhooks:write.",
        params: WebhookParams,
        response: { 204: z.undefined(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "webhooks:write", request.params.id);
      await owned(request.params.id, request.params.webhookId);
      await stratum.deleteWebhook(request.params.webhookId);
      return reply.code(204).send();
    },
  );
};
