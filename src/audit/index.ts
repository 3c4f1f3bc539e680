export { runWithActor, currentActor, SYSTEM_ACTOR } from "./actor.js";
export { redact, REDACTED, DEFAULT_SENSITIVE_KEYS } from "./redact.js";
export {
  createAuditService,
  recordAudit,
  listAudit,
  encodeActor,
  decodeActor,
  type AuditService,
  type AuditServiceOptions,
  type AuditRecord,
  type AuditFilters,
  type AuditPage,
} from "./service.js";
export { APP_ACTOR_TYPE, AppEventResource, appendAppAudit, getAuditEntry, RESERVED_AUDIT_NAMESPACES, type AppAuditEvent } from "./app-events.js";
