/**
 * Webhook events from the audit trail. Every stratum service already writes one audit row per
 * mutation inside its transaction; wrapping the AuditSink turns each of those rows into a webhook
 * event in the same transaction (so it is delivered exactly when the change commits), without the
 * services knowing about webhooks:
 *
 *   const audit = withWebhookEvents(runtime.audit, webhooks);
 *   createTenantService(db, { audit, … }); createConfigService(db, { audit, … }); …
 *
 * `tenant.create` becomes `tenant.created`, `config.set` `config.updated`, `permission.revoke`
 * `permission.revoked`, and so on (EVENT_NAMES). The payload's `data` is the audit entry
 * (target, before, after) after the audit redaction, so secrets and sensitive config never leave.
 */
import { DEFAULT_SENSITIVE_KEYS, redact } from "../audit/redact.js";
import type { Db } from "../core/db.js";
import type { AuditEntry, AuditSink } from "../core/ports.js";
import type { WebhookService } from "./service.js";

/** Audit action → webhook event type. Actions not listed here emit no event. */
export const EVENT_NAMES: Readonly<Record<string, string>> = Object.freeze({
  "tenant.create": "tenant.created",
  "tenant.move": "tenant.moved",
  "tenant.suspend": "tenant.suspended",
  "tenant.archive": "tenant.archived",
  "tenant.restore": "tenant.restored",
  "tenant.delete": "tenant.deleted",
  "config.set": "config.updated",
  "config.delete": "config.deleted",
  "permission.create": "permission.created",
  "permission.update": "permission.updated",
  "permission.revoke": "permission.revoked",
  "abac.create": "policy.created",
  "abac.update": "policy.updated",
  "abac.delete": "policy.deleted",
  "isolation.move": "tenant.isolation_changed",
  "gdpr.purge": "tenant.purged",
  "gdpr.subject_erase": "subject.erased",
});

export interface WebhookEventsOptions {
  /** Replaces EVENT_NAMES (action → event type); return undefined to emit nothing. */
  eventFor?: (action: string) => string | undefined;
  sensitiveKeys?: readonly string[];
}

/** `audit` (an AuditService keeps its other methods) whose `record` also emits the webhook event. */
export function withWebhookEvents<A extends AuditSink>(
  audit: A,
  webhooks: Pick<WebhookService, "emit"> & Partial<Pick<WebhookService, "emitLater">>,
  options: WebhookEventsOptions = {},
): A {
  const eventFor = options.eventFor ?? ((action: string) => EVENT_NAMES[action]);
  const keys = options.sensitiveKeys ?? DEFAULT_SENSITIVE_KEYS;
  return {
    ...audit,
    async record(tx: Db, entry: AuditEntry): Promise<void> {
      await audit.record(tx, entry);
      const type = eventFor(entry.action);
      // Entries without a tenant (deleting a root) have nobody to tell.
      if (!type || !entry.tenantId) return;
      // Nothing reads what the event queued: where the webhooks offer it, the statement rides with
      // the transaction's next one, like the audit row before it.
      const event = {
        type,
        tenantId: entry.tenantId,
        data: redact(
          {
            action: entry.action,
            target_type: entry.targetType ?? null,
            target_id: entry.targetId ?? null,
            before: entry.before ?? null,
            after: entry.after ?? null,
          },
          keys,
        ),
        ...(entry.mergeAfter ? { mergeAfter: entry.mergeAfter } : {}),
      };
      if (webhooks.emitLater) await webhooks.emitLater(tx, event);
      else await webhooks.emit(tx, event);
    },
  };
}
