/** /tenants/:id/webhooks: a tenant's webhooks (the control plane needs `stratum({ webhooks })`). */
import type { Webhook } from "../../webhooks/service.js";
import { seg, type Transport } from "../http.js";
import type { Wire } from "../types.js";

export type WebhookRecord = Wire<Webhook>;

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
}

export function webhooksApi(http: Transport): WebhooksApi {
  const base = (tenantId: string) => `/tenants/${seg(tenantId)}/webhooks`;
  return {
    list: (tenantId) => http.request({ method: "GET", path: base(tenantId) }),
    create: (tenantId, input) => http.request({ method: "POST", path: base(tenantId), body: input }),
    update: (tenantId, webhookId, patch) => http.request({ method: "PATCH", path: `${base(tenantId)}/${seg(webhookId)}`, body: patch }),
    rotateSecret: (tenantId, webhookId) => http.request({ method: "POST", path: `${base(tenantId)}/${seg(webhookId)}/rotate-secret` }),
    delete: (tenantId, webhookId) => http.request<void>({ method: "DELETE", path: `${base(tenantId)}/${seg(webhookId)}` }),
  };
}
