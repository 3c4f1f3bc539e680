/**
 * The operator console's wider contract: the admin client plus tenant writes, API keys,
 * webhooks, the audit trail and isolation moves. A separate interface so an app that only embeds
 * the config and permission editors keeps implementing the small one.
 */
import type {
  ApiKeyRecord,
  ApiKeyScope,
  AuditEntryRecord,
  AuditPage,
  AuditQuery,
  CreateApiKeyInput,
  CreatedApiKeyRecord,
  CreateTenantInput,
  IsolationMoveRecord,
  IsolationMoveResult,
  ListApiKeysQuery,
  SetIsolationInput,
  TenantRecord,
  UpdateTenantInput,
} from "../../sdk/types.js";
import type { StratumAdminClient } from "./types.js";

export type {
  ApiKeyRecord,
  ApiKeyScope,
  AuditEntryRecord,
  AuditPage,
  AuditQuery,
  CreateApiKeyInput,
  CreatedApiKeyRecord,
  CreateTenantInput,
  IsolationMoveRecord,
  IsolationMoveResult,
  ListApiKeysQuery,
  SetIsolationInput,
  UpdateTenantInput,
};

/** A webhook as GET /tenants/:id/webhooks sends it (never its secret). */
export interface WebhookRecord {
  id: string;
  tenant_id: string;
  url: string;
  events: string[];
  active: boolean;
  created_at: string;
}

export type DeliveryStatus = "pending" | "queued" | "retrying" | "delivered" | "dead";

/** One delivery of an event to a webhook, as the delivery log sends it. */
export interface DeliveryRecord {
  id: string;
  webhook_id: string;
  event: string;
  payload: { id: string; type: string; tenant_id: string; occurred_at: string; data: unknown };
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
}

export interface WebhookInput {
  url: string;
  events: string[];
  active?: boolean;
}

export type TenantStatusVerb = "suspend" | "archive" | "restore";

export interface StratumOperatorClient extends StratumAdminClient {
  createTenant(input: CreateTenantInput): Promise<TenantRecord>;
  updateTenant(id: string, patch: UpdateTenantInput): Promise<TenantRecord>;
  moveTenant(id: string, parentId: string | null): Promise<TenantRecord>;
  setTenantStatus(id: string, verb: TenantStatusVerb): Promise<TenantRecord>;
  /** With cascade, the whole subtree; answers the deleted ids. */
  deleteTenant(id: string, options?: { cascade?: boolean }): Promise<{ deleted: string[] }>;

  listApiKeys(query?: ListApiKeysQuery): Promise<ApiKeyRecord[]>;
  /** The answer holds the plaintext key, once. */
  createApiKey(input: CreateApiKeyInput): Promise<CreatedApiKeyRecord>;
  revokeApiKey(keyId: string): Promise<ApiKeyRecord>;

  listWebhooks(tenantId: string): Promise<WebhookRecord[]>;
  createWebhook(tenantId: string, input: WebhookInput): Promise<{ webhook: WebhookRecord; secret: string }>;
  updateWebhook(tenantId: string, webhookId: string, patch: Partial<WebhookInput>): Promise<WebhookRecord>;
  rotateWebhookSecret(tenantId: string, webhookId: string): Promise<{ secret: string }>;
  deleteWebhook(tenantId: string, webhookId: string): Promise<void>;
  /** The delivery log, newest first. */
  listDeliveries(tenantId: string, webhookId: string, filters?: { status?: DeliveryStatus; limit?: number }): Promise<DeliveryRecord[]>;
  /** Sends one dead (or delivered) delivery again; 409 CONFLICT while it is still in flight. */
  retryDelivery(tenantId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord>;
  /** Sends every dead delivery of the webhook again. */
  retryDeadDeliveries(tenantId: string, webhookId: string): Promise<{ retried: number; delivery_ids: string[] }>;
  /** Queues a `webhook.test` event to this webhook only. */
  sendTestWebhook(tenantId: string, webhookId: string): Promise<DeliveryRecord>;

  listAudit(tenantId: string, query?: AuditQuery): Promise<AuditPage>;

  listIsolationMoves(tenantId: string): Promise<IsolationMoveRecord[]>;
  setIsolation(tenantId: string, input: SetIsolationInput): Promise<IsolationMoveResult>;
}
