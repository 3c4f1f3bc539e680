/** The `$stratum` object: every service, built on the runtime's admin Db. */
import { createAbacService } from "../abac/index.js";
import { createApiKeyService } from "../apikeys/index.js";
import { appendAppAudit, getAuditEntry, type AppAuditEvent } from "../audit/app-events.js";
import { createConfigService } from "../config/index.js";
import { createPermissionService } from "../permissions/index.js";
import { createRoleService } from "../roles/index.js";
import { eraseTransaction } from "../tenants/erase.js";
import { createTenantService } from "../tenants/service.js";
import { tenantConveniences } from "../tenants/conveniences.js";
import { tenantTablesInOrder } from "../isolation/data-source.js";
import { migrateTenantHomes, type FanOutOptions } from "../isolation/fan-out.js";
import { createIsolationMover } from "../isolation/move.js";
import { createComplianceServices } from "./compliance.js";
import { checkReadiness } from "./readiness.js";
import { guardServices } from "./service-guard.js";
import { StratumError } from "../core/errors.js";
import type { WebhookEvent, WebhookInput, WebhookService } from "../webhooks/index.js";
import { createWebhookOperations } from "../webhooks/operations.js";
import type { StratumRuntime } from "./runtime.js";

export function createServices(runtime: StratumRuntime) {
  const { db, audit, router, strategies, cipher } = runtime;
  const bus = runtime.options.bus ? { bus: runtime.options.bus } : {};
  const tenants = createTenantService(db, {
    audit,
    ...bus,
    hooks: {
      provision: (tenant, server) => strategies[tenant.isolation_strategy].provision(tenant, runtime.provisionContext(server)),
      deprovision: (tenant) => strategies[tenant.isolation_strategy].deprovision(tenant, runtime.provisionContext()),
      changed: (ids) => ids.forEach((id) => router.forget(id)),
      eraseTransaction: eraseTransaction({
        base: runtime.base,
        adminScope: runtime.adminScope,
        sharedScope: (tenant) => strategies.SHARED_RLS.scope(tenant, { mode: "s", readOnly: false }, (id, mode) => runtime.sign(id, mode)),
        tables: tenantTablesInOrder(runtime.models).map((t) => ({ table: t.table, tenantColumn: t.tenantColumn })),
      }),
    },
  });
  const maxValueBytes = runtime.options.config?.maxValueBytes;
  const config = createConfigService(db, { audit, ...bus, ...(cipher ? { cipher } : {}), ...(maxValueBytes !== undefined ? { maxValueBytes } : {}) });
  const permissions = createPermissionService(db, { audit, ...bus });
  const abac = createAbacService(db, { audit, ...bus });
  const roles = createRoleService(db, { audit, permissions });
  const treeExtras = tenantConveniences(db, {
    audit,
    ...bus,
    changed: (ids) => {
      for (const id of ids) router.forget(id);
    },
  });
  const apiKeys = createApiKeyService(db, { audit });
  const mover = createIsolationMover({
    admin: runtime.admin,
    strategies,
    router,
    tenantTables: runtime.tenantTables,
    provisionContext: runtime.provisionContext,
    sign: (id) => runtime.sign(id, "m"),
    audit,
    ...bus,
  });
  return guardServices(
    {
      createTenant: tenants.createTenant,
      updateTenant: tenants.updateTenant,
      getTenant: tenants.getTenant,
      getTenantBySlug: tenants.getTenantBySlug,
      listTenants: tenants.listTenants,
      getChildren: tenants.getChildren,
      getAncestors: tenants.getAncestors,
      getDescendants: tenants.getDescendants,
      /** Descendants depth-first, `{ data, next_cursor }` pages of `limit` (default 100). */
      getDescendantsPage: treeExtras.getDescendantsPage,
      /** Ancestors root first, in pages. */
      getAncestorsPage: treeExtras.getAncestorsPage,
      /** The root of the tenant's tree. */
      getRoot: treeExtras.getRoot,
      /** A new slug (a label only: homes are named from the id). */
      changeSlug: treeExtras.changeSlug,
      moveTenant: tenants.moveTenant,
      suspendTenant: tenants.suspendTenant,
      archiveTenant: tenants.archiveTenant,
      restoreTenant: tenants.restoreTenant,
      deleteTenant: tenants.deleteTenant,
      setConfig: config.setConfig,
      setConfigBatch: config.setConfigBatch,
      deleteConfig: config.deleteConfig,
      getConfig: config.getConfig,
      resolveConfig: config.resolveConfig,
      resolveConfigKey: config.resolveConfigKey,
      diffConfig: config.diffConfig,
      createPermission: permissions.createPermission,
      updatePermission: permissions.updatePermission,
      revokePermission: permissions.revokePermission,
      resolvePermissions: permissions.resolvePermissions,
      listPermissions: permissions.listPermissions,
      defineRole: roles.defineRole,
      updateRole: roles.updateRole,
      deleteRole: roles.deleteRole,
      listRoles: roles.listRoles,
      resolveRole: roles.resolveRole,
      assignRole: roles.assignRole,
      unassignRole: roles.unassignRole,
      listRoleAssignments: roles.listRoleAssignments,
      /** Every scope a principal (API key or app user) holds at a tenant through its roles, in one call. */
      resolvePrincipalScopes: roles.resolvePrincipalScopes,
      createPolicy: abac.createPolicy,
      updatePolicy: abac.updatePolicy,
      deletePolicy: abac.deletePolicy,
      listPolicies: abac.listPolicies,
      evaluate: abac.evaluate,
      setIsolation: mover.setIsolation,
      resumeIsolationMove: mover.resumeIsolationMove,
      rollbackIsolationMove: mover.rollbackIsolationMove,
      listIsolationMoves: mover.listIsolationMoves,
      /** Brings every SCHEMA and DATABASE tenant's tables level with the migrated main database. */
      migrateTenantHomes: (options?: FanOutOptions) =>
        migrateTenantHomes({ admin: runtime.admin, tenantTables: runtime.tenantTables, appRole: runtime.appRole }, options),
      listAudit: audit.list,
      /** The app's own event in the audit trail (its actor, its action outside stratum's namespaces). */
      appendAudit: (tenantId: string, event: AppAuditEvent) => appendAppAudit(db, tenantId, event),
      /** One audit entry of the tenant's subtree. */
      getAuditEntry: (tenantId: string, entryId: string) => getAuditEntry(db, tenantId, entryId),
      createApiKey: apiKeys.createApiKey,
      listApiKeys: apiKeys.listApiKeys,
      getApiKey: apiKeys.getApiKey,
      revokeApiKey: apiKeys.revokeApiKey,
      verifyApiKey: apiKeys.verifyApiKey,
      rotateApiKey: apiKeys.rotateApiKey,
      listDormantApiKeys: apiKeys.listDormantApiKeys,
      ...webhookMethods(runtime),
      /** Stops background work (webhook worker and poller); call before exiting. */
      close: async () => {
        await runtime.webhooks?.close();
      },
      /** Checks the app connection against the isolation rules; `ok: false` lists what is wrong. */
      doctor: runtime.doctor,
      /** Readiness checks (database, migrations, scope key, connection safety), one entry each. */
      checkReadiness: () => checkReadiness(runtime),
      ...createComplianceServices(runtime),
    },
    runtime.keyReady,
  );
}

/** Everything `prisma.$stratum` offers: written out in stratum-services.ts, checked against this build. */
export type { StratumServices } from "./stratum-services.js";

/** Webhook management on `$stratum`; each refuses clearly when webhooks are not configured. */
function webhookMethods(runtime: StratumRuntime) {
  const service = (): WebhookService => {
    if (!runtime.webhooks) {
      throw new StratumError("VALIDATION_FAILED", "Webhooks are not configured: pass stratum({ webhooks: { redis } }).");
    }
    return runtime.webhooks;
  };
  const operations = () => (service(), createWebhookOperations(runtime.db, runtime.audit));
  return {
    registerWebhook: (tenantId: string, input: WebhookInput) => service().register(tenantId, input),
    updateWebhook: (webhookId: string, patch: Partial<WebhookInput>) => service().update(webhookId, patch),
    deleteWebhook: (webhookId: string) => service().delete(webhookId),
    listWebhooks: (tenantId: string) => service().list(tenantId),
    rotateWebhookSecret: (webhookId: string) => service().rotateSecret(webhookId),
    listDeliveries: (webhookId: string, filters?: Parameters<WebhookService["listDeliveries"]>[1]) => service().listDeliveries(webhookId, filters),
    replayDelivery: (deliveryId: string) => service().replay(deliveryId),
    getDelivery: (deliveryId: string) => service().getDelivery(deliveryId),
    /** Counts per status, last success and last failure of one webhook. */
    webhookStats: (webhookId: string) => operations().stats(webhookId),
    /** Dead deliveries of the tenant's webhooks, newest first. */
    listDeadDeliveries: (tenantId: string, options?: { limit?: number }) => operations().deadLetters(tenantId, options),
    /** Every dead delivery of the webhook back to pending; the ids retried. */
    retryDeadDeliveries: (webhookId: string) => operations().retryDead(webhookId),
    /** A `webhook.test` delivery to this webhook only. */
    sendTestWebhook: (webhookId: string) => operations().sendTest(webhookId),
    /** A custom event for the tenant's (and its ancestors') webhooks, recorded now. */
    emitWebhook: (event: WebhookEvent) => runtime.db.transaction((tx) => service().emit(tx, event)),
  };
}
