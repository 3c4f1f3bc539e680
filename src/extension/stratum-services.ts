/**
 * `prisma.$stratum`, written down: every method the extension's services object offers, grouped
 * by concern, each taken from the service that implements it. This is the declared type of
 * `$stratum` (stratum.ts assigns the built object to it, so a method missing from the build fails
 * the typecheck) and test/stratum-services.test.ts fails when the build has a method this
 * interface does not list. docs/api.md describes the groups.
 */
import type { AbacService } from "../abac/index.js";
import type { ApiKeyService } from "../apikeys/index.js";
import type { AppAuditEvent, appendAppAudit, getAuditEntry } from "../audit/app-events.js";
import type { AuditService } from "../audit/index.js";
import type { ConfigService } from "../config/index.js";
import type { FanOutOptions, migrateTenantHomes } from "../isolation/fan-out.js";
import type { createIsolationMover } from "../isolation/move.js";
import type { PermissionService } from "../permissions/index.js";
import type { RoleService } from "../roles/index.js";
import type { tenantConveniences } from "../tenants/conveniences.js";
import type { TenantService } from "../tenants/service.js";
import type { Delivery, DeliveryStatus, RegisteredWebhook, Webhook, WebhookEvent, WebhookInput, WebhookOperations } from "../webhooks/index.js";
import type { createComplianceServices } from "./compliance.js";
import type { ReadinessCheck } from "./readiness.js";

type TreeConveniences = ReturnType<typeof tenantConveniences>;
type IsolationMover = ReturnType<typeof createIsolationMover>;
type ComplianceServices = ReturnType<typeof createComplianceServices>;

/** The tenant tree: create, read, move, lifecycle (docs/api.md "Tenants"). */
export interface TenantMethods
  extends Pick<
      TenantService,
      | "createTenant"
      | "updateTenant"
      | "getTenant"
      | "getTenantBySlug"
      | "listTenants"
      | "getChildren"
      | "getAncestors"
      | "getDescendants"
      | "moveTenant"
      | "suspendTenant"
      | "archiveTenant"
      | "restoreTenant"
      | "deleteTenant"
    >,
    Pick<TreeConveniences, "getDescendantsPage" | "getAncestorsPage" | "getRoot" | "changeSlug"> {}

/** Inherited configuration (docs/config.md). */
export type ConfigMethods = Pick<
  ConfigService,
  "setConfig" | "setConfigBatch" | "deleteConfig" | "getConfig" | "resolveConfig" | "resolveConfigKey" | "diffConfig"
>;

/** Permissions, roles and ABAC policies (docs/permissions.md). */
export interface AccessMethods
  extends Pick<PermissionService, "createPermission" | "updatePermission" | "revokePermission" | "resolvePermissions" | "listPermissions">,
    Pick<
      RoleService,
      | "defineRole"
      | "updateRole"
      | "deleteRole"
      | "listRoles"
      | "resolveRole"
      | "assignRole"
      | "unassignRole"
      | "listRoleAssignments"
      | "resolvePrincipalScopes"
    >,
    Pick<AbacService, "createPolicy" | "updatePolicy" | "deletePolicy" | "listPolicies" | "evaluate"> {}

/** Isolation strategies and moves between them (docs/isolation.md). */
export interface IsolationMethods extends Pick<IsolationMover, "setIsolation" | "resumeIsolationMove" | "rollbackIsolationMove" | "listIsolationMoves"> {
  /** Brings every SCHEMA and DATABASE tenant's tables level with the migrated main database. */
  migrateTenantHomes(options?: FanOutOptions): ReturnType<typeof migrateTenantHomes>;
}

/** The audit trail and API keys. */
export interface AuditAndKeyMethods
  extends Pick<ApiKeyService, "createApiKey" | "listApiKeys" | "getApiKey" | "revokeApiKey" | "verifyApiKey" | "rotateApiKey" | "listDormantApiKeys"> {
  listAudit: AuditService["list"];
  /** The app's own event in the audit trail (its actor, its action outside stratum's namespaces). */
  appendAudit(tenantId: string, event: AppAuditEvent): ReturnType<typeof appendAppAudit>;
  /** One audit entry of the tenant's subtree. */
  getAuditEntry(tenantId: string, entryId: string): ReturnType<typeof getAuditEntry>;
}

/** Webhooks (docs/webhooks.md); each refuses with VALIDATION_FAILED when webhooks are not configured. */
export interface WebhookMethods {
  registerWebhook(tenantId: string, input: WebhookInput): Promise<RegisteredWebhook>;
  updateWebhook(webhookId: string, patch: Partial<WebhookInput>): Promise<Webhook>;
  deleteWebhook(webhookId: string): Promise<void>;
  listWebhooks(tenantId: string): Promise<Webhook[]>;
  rotateWebhookSecret(webhookId: string): Promise<string>;
  listDeliveries(webhookId: string, filters?: { status?: DeliveryStatus; limit?: number }): Promise<Delivery[]>;
  replayDelivery(deliveryId: string): Promise<Delivery>;
  getDelivery(deliveryId: string): Promise<Delivery>;
  /** Counts per status, last success and last failure of one webhook. */
  webhookStats: WebhookOperations["stats"];
  /** Dead deliveries of the tenant's webhooks, newest first. */
  listDeadDeliveries: WebhookOperations["deadLetters"];
  /** Every dead delivery of the webhook back to pending; the ids retried. */
  retryDeadDeliveries: WebhookOperations["retryDead"];
  /** A `webhook.test` delivery to this webhook only. */
  sendTestWebhook: WebhookOperations["sendTest"];
  /** A custom event for the tenant's (and its ancestors') webhooks, recorded now; the delivery ids. */
  emitWebhook(event: WebhookEvent): Promise<string[]>;
}

/** GDPR export and erasure, consent, key rotation, retention (docs/compliance.md). */
export type ComplianceMethods = Pick<
  ComplianceServices,
  | "exportTenantData"
  | "exportTenantDataJson"
  | "purgeTenant"
  | "exportSubjectData"
  | "exportSubjectDataJson"
  | "eraseSubject"
  | "recordConsent"
  | "grantConsent"
  | "withdrawConsent"
  | "listConsents"
  | "consentHistory"
  | "hasConsent"
  | "rotateKeys"
  | "runRetention"
  | "scheduleRetention"
>;

/** Running the extension: health and shutdown. */
export interface OperationMethods {
  /** Stops background work (webhook worker and poller); call before exiting. */
  close(): Promise<void>;
  /** Checks the app connection against the isolation rules; `ok: false` lists what is wrong. */
  doctor(): Promise<{ ok: boolean; role: string; problems: string[] }>;
  /** Readiness checks (database, migrations, scope key, connection safety), one entry each. */
  checkReadiness(): Promise<ReadinessCheck[]>;
}

/** Everything `prisma.$stratum` offers. */
export interface StratumServices
  extends TenantMethods,
    ConfigMethods,
    AccessMethods,
    IsolationMethods,
    AuditAndKeyMethods,
    WebhookMethods,
    ComplianceMethods,
    OperationMethods {}
