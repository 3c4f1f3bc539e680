import type { Db } from "../core/db.js";
import type { AuditSink, ValueCipher } from "../core/ports.js";
import { exportTenantData, purgeTenant, type PurgeResult } from "./tenant.js";
import { eraseSubject, exportSubjectData, type SubjectTarget } from "./subject.js";
import type { TenantDataSource } from "./source.js";

export { collectExport, jsonArray, toJsonText, type Row, type TenantDataSource } from "./source.js";
export { exportTenantData, purgeTenant, type ExportOptions, type PurgeOptions, type PurgeResult } from "./tenant.js";
export {
  exportSubjectData,
  eraseSubject,
  subjectHash,
  subjectTargetsFromModels,
  type SubjectTarget,
  type SubjectOptions,
  type EraseSubjectOptions,
} from "./subject.js";
export {
  runRetention,
  scheduleRetention,
  scheduleRuns,
  type RetentionPolicy,
  type RetentionResult,
  type RetentionScheduler,
  type RetentionScheduleOptions,
  type RunRetentionOptions,
} from "./retention.js";

export interface GdprServiceOptions {
  audit?: AuditSink;
  /** Decrypts sensitive config values into tenant exports. */
  cipher?: ValueCipher;
  /** Subject tables (see subjectTargetsFromModels). */
  subjectTargets?: readonly SubjectTarget[];
}

/** `sources` for a tenant: the isolation layer returns the places the tenant's rows live. */
export type SourcesFor = (tenantId: string) => Promise<readonly TenantDataSource[]> | readonly TenantDataSource[];

export interface GdprService {
  exportTenantData(tenantId: string, options?: { batchSize?: number }): AsyncIterable<string>;
  purgeTenant(tenantId: string): Promise<PurgeResult>;
  exportSubjectData(tenantId: string, subjectId: string, options?: { batchSize?: number }): AsyncIterable<string>;
  eraseSubject(tenantId: string, subjectId: string, options?: { keepConsents?: boolean }): Promise<{ counts: Record<string, number> }>;
}

/** The service the extension exposes: binds the Db, the audit sink and how to find a tenant's sources. */
export function createGdprService(db: Db, sourcesFor: SourcesFor, options: GdprServiceOptions = {}): GdprService {
  const targets = options.subjectTargets ?? [];
  return {
    async *exportTenantData(tenantId, o = {}) {
      const sources = await sourcesFor(tenantId);
      yield* exportTenantData(db, tenantId, { sources, ...o, ...(options.cipher ? { cipher: options.cipher } : {}) });
    },
    async purgeTenant(tenantId) {
      return purgeTenant(db, tenantId, { sources: await sourcesFor(tenantId), ...(options.audit ? { audit: options.audit } : {}) });
    },
    async *exportSubjectData(tenantId, subjectId, o = {}) {
      yield* exportSubjectData(db, tenantId, subjectId, { sources: await sourcesFor(tenantId), targets, ...o });
    },
    async eraseSubject(tenantId, subjectId, o = {}) {
      return eraseSubject(db, tenantId, subjectId, {
        sources: await sourcesFor(tenantId),
        targets,
        ...o,
        ...(options.audit ? { audit: options.audit } : {}),
      });
    },
  };
}
