/** /tenants/:id/webhooks: a tenant's webhooks (the control plane needs `stratum({ webhooks })`). */
import type { WebhookEventType, WebhookStats } from "../../webhooks/operations.js";
import type { Delivery, DeliveryStatus, Webhook } from "../../webhooks/service.js";
import { seg, type Transport } from "../http.js";
import type { Wire } from "../types.js";

export type WebhookRecord = Wire<Webhook>;
export type DeliveryRecord = Wire<Delivery>;
export type WebhookStatsRecord = Wire<WebhookStats>;
export type { WebhookEventType };

export interface WebhookInput {
  url: string;
  /** Exact types (tenant.created), prefixes (tenant.*) or *. */
  events: string[];
  active?: boolean;
}

export interface WebhooksApi {
  list(tenantId: string): Promise<WebhookRecord[]>;
  /** The answer holds the signing secret, once. */
  create(tenantId: string, input: WebhookInput): Promise<{ webhook: WebhookRecord; secret: string }>;
  update(tenantId: string, webhookId: string, patch: Partial<WebhookInput>): Promise<WebhookRecord>;
  /** The old secret stops signing at once. */
  rotateSecret(tenantId: string, webhookId: string): Promise<{ secret: string }>;
  delete(tenantId: string, webhookId: string): Promise<void>;
  /** The delivery log, newest first. */
  deliveries(tenantId: string, webhookId: string, filters?: { status?: DeliveryStatus; limit?: number }): Promise<DeliveryRecord[]>;
  /** Counts per status, last success, last failure. */
  stats(tenantId: string, webhookId: string): Promise<WebhookStatsRecord>;
  /** Sends one dead (or delivered) delivery again. */
  retryDelivery(tenantId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord>;
  /** Sends every dead delivery of the webhook again. */
  retryDead(tenantId: string, webhookId: string): Promise<{ retried: number; delivery_ids: string[] }>;
  /** Queues a `webhook.test` event to this webhook only. */
  sendTest(tenantId: string, webhookId: string): Promise<DeliveryRecord>;
  /** Dead deliveries of the tenant's webhooks, newest first. */
  deadLetters(tenantId: string, options?: { limit?: number }): Promise<DeliveryRecord[]>;
  /** Every event type a webhook can subscribe to. */
  events(): Promise<WebhookEventType[]>;
}

export function webhooksApi(http: Transport): WebhooksApi {
  const base = (tenantId: string) => `/tenants/${seg(tenantId)}/webhooks`;
  return {
    list: (tenantId) => http.request({ method: "GET", path: base(tenantId) }),
    create: (tenantId, input) => http.request({ method: "POST", path: base(tenantId), body: input }),
    update: (tenantId, webhookId, patch) => http.request({ method: "PATCH", path: `${base(tenantId)}/${seg(webhookId)}`, body: patch }),
    rotateSecret: (tenantId, webhookId) => http.request({ method: "POST", path: `${base(tenantId)}/${seg(webhookId)}/rotate-secret` }),
    delete: (tenantId, webhookId) => http.request<void>({ method: "DELETE", path: `${base(tenantId)}/${seg(webhookId)}` }),
    deliveries: (tenantId, webhookId, filters = {}) => http.request({ method: "GET", path: `${base(tenantId)}/${seg(webhookId)}/deliveries`, query: filters }),
    stats: (tenantId, webhookId) => http.request({ method: "GET", path: `${base(tenantId)}/${seg(webhookId)}/stats` }),
    retryDelivery: (tenantId, webhookId, deliveryId) =>
      http.request({ method: "POST", path: `${base(tenantId)}/${seg(webhookId)}/deliveries/${seg(deliveryId)}/retry` }),
    retryDead: (tenantId, webhookId) => http.request({ method: "POST", path: `${base(tenantId)}/${seg(webhookId)}/retry-dead` }),
    sendTest: (tenantId, webhookId) => http.request({ method: "POST", path: `${base(tenantId)}/${seg(webhookId)}/test` }),
    deadLetters: (tenantId, options = {}) => http.request({ method: "GET", path: `/tenants/${seg(tenantId)}/webhook-dead-letters`, query: options }),
    events: () => http.request({ method: "GET", path: "/webhook-events" }),
  };
}
