/**
 * Webhook operations: delivery log, stats, retrying dead deliveries (one or all), a test send,
 * the dead letters of a tenant, and the event catalogue. Deliveries are addressed under their
 * webhook and tenant, so the subtree check sees the owner.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { StratumError } from "../../core/errors.js";
import { webhookEventCatalogue } from "../../webhooks/operations.js";
import { errorResponses, JsonValue, TenantParams, Timestamp } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["webhooks"];
const Status = z.enum(["pending", "queued", "retrying", "delivered", "dead"]);
const Delivery = z
  .object({
    id: z.string(),
    webhook_id: z.string(),
    event: z.string(),
    payload: z.object({ id: z.string(), type: z.string(), tenant_id: z.string(), occurred_at: z.string(), data: JsonValue }),
    status: Status,
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    next_attempt_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .meta({
    examples: [
      {
        id: "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6",
        webhook_id: "c4d3e2f1-a0b9-4c8d-9e7f-6a5b4c3d2e1f",
        event: "config.updated",
        payload: {
          id: "evt_1",
          type: "config.updated",
          tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
          occurred_at: "2026-12-06T09:30:00.000Z",
          data: { key: "max_users" },
        },
        status: "dead",
        attempts: 8,
        last_error: "HTTP 503",
        next_attempt_at: null,
        created_at: "2026-12-06T09:30:00.000Z",
      },
    ],
  });
const Stats = z
  .object({
    webhook_id: z.string(),
    total: z.number().int(),
    by_status: z.object({
      pending: z.number().int(),
      queued: z.number().int(),
      retrying: z.number().int(),
      delivered: z.number().int(),
      dead: z.number().int(),
    }),
    last_delivered_at: Timestamp.nullable(),
    last_failed_at: Timestamp.nullable(),
    last_error: z.string().nullable(),
  })
  .meta({
    examples: [
      {
        webhook_id: "c4d3e2f1-a0b9-4c8d-9e7f-6a5b4c3d2e1f",
        total: 12,
        by_status: { pending: 0, queued: 1, retrying: 0, delivered: 10, dead: 1 },
        last_delivered_at: "2026-12-06T09:30:00.000Z",
        last_failed_at: "2026-12-06T09:30:00.000Z",
        last_error: "HTTP 503",
      },
    ],
  });
const WebhookParams = TenantParams.extend({ webhookId: z.uuid() });
const DeliveryParams = WebhookParams.extend({ deliveryId: z.uuid() });
const Limit = z.coerce.number().int().min(1).max(500).optional();

export const webhookOpsRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  async function owned(tenantId: string, webhookId: string): Promise<void> {
    if (!(await stratum.listWebhooks(tenantId)).some((w) => w.id === webhookId)) {
      throw new StratumError("NOT_FOUND", `Tenant ${tenantId} has no webhook ${webhookId}.`);
    }
  }

  app.get(
    "/webhook-events",
    {
      schema: {
        tags,
        summary: "The event catalogue: every type a webhook can subscribe to",
        description: "Scope: webhooks:read.",
        response: {
          200: z.array(z.object({ type: z.string(), emitted_on: z.string() })).meta({ examples: [[{ type: "config.updated", emitted_on: "config.set" }]] }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      guard.scope(request, "webhooks:read");
      return webhookEventCatalogue();
    },
  );

  app.get(
    "/tenants/:id/webhooks/:webhookId/deliveries",
    {
      schema: {
        tags,
        summary: "A webhook's delivery log, newest first",
        description: "Scope: webhooks:read.",
        params: WebhookParams,
        querystring: z.object({ status: Status.optional(), limit: Limit }).strict(),
        response: { 200: z.array(Delivery), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "webhooks:read", request.params.id);
      await owned(request.params.id, request.params.webhookId);
      const { status, limit } = request.query;
      return stratum.listDeliveries(request.params.webhookId, { ...(status ? { status } : {}), ...(limit ? { limit } : {}) });
    },
  );

  app.get(
    "/tenants/:id/webhooks/:webhookId/stats",
    {
      schema: {
        tags,
        summary: "Delivery counts per status, last success and last failure",
        description: "Scope: webhooks:read.",
        params: WebhookParams,
        response: { 200: Stats, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "webhooks:read", request.params.id);
      await owned(request.params.id, request.params.webhookId);
      return stratum.webhookStats(request.params.webhookId);
    },
  );

  app.post(
    "/tenants/:id/webhooks/:webhookId/deliveries/:deliveryId/retry",
    {
      schema: {
        tags,
        summary: "Send one dead (or delivered) delivery again",
        description: "Scope: webhooks:write. 409 CONFLICT while it is still in flight.",
        params: DeliveryParams,
        response: { 200: Delivery, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "webhooks:write", request.params.id);
      await owned(request.params.id, request.params.webhookId);
      const delivery = await stratum.getDelivery(request.params.deliveryId);
      if (delivery.webhook_id !== request.params.webhookId)
        throw new StratumError("NOT_FOUND", `Webhook ${request.params.webhookId} has no delivery ${request.params.deliveryId}.`);
      return stratum.replayDelivery(request.params.deliveryId);
    },
  );

  app.post(
    "/tenants/:id/webhooks/:webhookId/retry-dead",
    {
      schema: {
        tags,
        summary: "Send every dead delivery of the webhook again",
        description: "Scope: webhooks:write.",
        params: WebhookParams,
        response: {
          200: z
            .object({ retried: z.number().int(), delivery_ids: z.array(z.string()) })
            .meta({ examples: [{ retried: 1, delivery_ids: ["d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"] }] }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await guard.tenant(request, "webhooks:write", request.params.id);
      await owned(request.params.id, request.params.webhookId);
      const ids = await stratum.retryDeadDeliveries(request.params.webhookId);
      return { retried: ids.length, delivery_ids: ids };
    },
  );

  app.post(
    "/tenants/:id/webhooks/:webhookId/test",
    {
      schema: {
        tags,
        summary: "Queue a webhook.test event to this webhook only",
        description: "Scope: webhooks:write. 202: the delivery is queued; follow it in the delivery log.",
        params: WebhookParams,
        response: { 202: Delivery, ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "webhooks:write", request.params.id);
      await owned(request.params.id, request.params.webhookId);
      return reply.code(202).send(await stratum.sendTestWebhook(request.params.webhookId));
    },
  );

  app.get(
    "/tenants/:id/webhook-dead-letters",
    {
      schema: {
        tags,
        summary: "Dead deliveries of the tenant's webhooks, newest first",
        description: "Scope: webhooks:read.",
        params: TenantParams,
        querystring: z.object({ limit: Limit }).strict(),
        response: { 200: z.array(Delivery), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "webhooks:read", request.params.id);
      return stratum.listDeadDeliveries(request.params.id, request.query.limit ? { limit: request.query.limit } : {});
    },
  );
};
