/**
 * GDPR and consent: /tenants/:id/export, /purge, /subjects/:subjectId/… .
 *
 * Nothing here is cached: exports must be current, and consent state is what a caller checks
 * before processing, so a stale answer would be a compliance bug. A purge removes the tenant, so
 * it drops the tenant's cached entries (before, and again after, like the tenant writes).
 */
import type { SdkCache } from "../cache.js";
import { seg, type Transport } from "../http.js";
import type { ConsentRecord, ConsentWrite, PurgeTenantInput, SubjectErasure, SubjectExport, TenantExport, TenantPurgeRecord } from "../types.js";

export interface ComplianceApi {
  /** GDPR Art. 20: the whole export, parsed. For large tenants use `exportTenantStream`. */
  exportTenant(tenantId: string): Promise<TenantExport>;
  /** The export as the server streams it (UTF-8 JSON bytes); no timeout once the headers have arrived. */
  exportTenantStream(tenantId: string): Promise<ReadableStream<Uint8Array>>;
  /**
   * GDPR Art. 17: deletes the tenant and all its rows. `confirm` must be the tenant's slug;
   * `keepHome` keeps its emptied schema or database. Refused for a tenant with children.
   */
  purgeTenant(tenantId: string, input: PurgeTenantInput): Promise<TenantPurgeRecord>;
  /** One data subject's rows and consents, parsed. */
  exportSubject(tenantId: string, subjectId: string): Promise<SubjectExport>;
  exportSubjectStream(tenantId: string, subjectId: string): Promise<ReadableStream<Uint8Array>>;
  /** Deletes the subject's rows (children first) and, unless `keepConsents`, their consents. */
  eraseSubject(tenantId: string, subjectId: string, options?: { keepConsents?: boolean }): Promise<SubjectErasure>;
  /** The latest record per purpose. */
  listConsents(tenantId: string, subjectId: string): Promise<ConsentRecord[]>;
  /** Every record, oldest first; one purpose or all. */
  consentHistory(tenantId: string, subjectId: string, purpose?: string): Promise<ConsentRecord[]>;
  /** Appends a grant (`granted: true`) or a withdrawal. */
  recordConsent(tenantId: string, subjectId: string, input: ConsentWrite): Promise<ConsentRecord>;
  grantConsent(tenantId: string, subjectId: string, purpose: string, source?: string): Promise<ConsentRecord>;
  withdrawConsent(tenantId: string, subjectId: string, purpose: string, source?: string): Promise<ConsentRecord>;
}

export function complianceApi(http: Transport, cache: SdkCache): ComplianceApi {
  const tenant = (tenantId: string) => `/tenants/${seg(tenantId)}`;
  const subject = (tenantId: string, subjectId: string) => `${tenant(tenantId)}/subjects/${seg(subjectId)}`;
  const recordConsent = (tenantId: string, subjectId: string, input: ConsentWrite) =>
    http.request<ConsentRecord>({ method: "POST", path: `${subject(tenantId, subjectId)}/consents`, body: input });

  return {
    exportTenant: (tenantId) => http.request({ method: "GET", path: `${tenant(tenantId)}/export` }),
    exportTenantStream: (tenantId) => http.stream({ method: "GET", path: `${tenant(tenantId)}/export` }),
    purgeTenant: async (tenantId, input) => {
      cache.invalidateSubtree(tenantId);
      try {
        const body = { confirm: input.confirm, ...(input.keepHome === undefined ? {} : { keep_home: input.keepHome }) };
        return await http.request<TenantPurgeRecord>({ method: "POST", path: `${tenant(tenantId)}/purge`, body });
      } finally {
        // Also when it failed: a purge that stopped half-way has already suspended the tenant.
        cache.invalidateSubtree(tenantId);
      }
    },
    exportSubject: (tenantId, subjectId) => http.request({ method: "GET", path: `${subject(tenantId, subjectId)}/export` }),
    exportSubjectStream: (tenantId, subjectId) => http.stream({ method: "GET", path: `${subject(tenantId, subjectId)}/export` }),
    eraseSubject: (tenantId, subjectId, options = {}) =>
      http.request({ method: "DELETE", path: subject(tenantId, subjectId), query: { keep_consents: options.keepConsents } }),
    listConsents: (tenantId, subjectId) => http.request({ method: "GET", path: `${subject(tenantId, subjectId)}/consents` }),
    consentHistory: (tenantId, subjectId, purpose) =>
      http.request({ method: "GET", path: `${subject(tenantId, subjectId)}/consents/history`, query: { purpose } }),
    recordConsent,
    grantConsent: (tenantId, subjectId, purpose, source) => recordConsent(tenantId, subjectId, { purpose, granted: true, ...(source ? { source } : {}) }),
    withdrawConsent: (tenantId, subjectId, purpose, source) => recordConsent(tenantId, subjectId, { purpose, granted: false, ...(source ? { source } : {}) }),
  };
}
