/**
 * GDPR, consent, key rotation and retention as `$stratum` methods, over the runtime; services.ts
 * spreads what this returns into `$stratum`. Every method runs in a span `stratum.<method>`
 * (traceService) with `stratum.tenant_id` when its first argument is a tenant id.
 *
 * Where the data is reached:
 *  - stratum's own tables (config, consents, audit, the tenant row) through the admin Db;
 *  - the user's tenant tables through the tenant's places (src/isolation/data-source.ts): the
 *    shared RLS tables and its own schema or database, each under the tenant's signed scope. The
 *    admin scope cannot see tenant rows, so anything touching them (export, purge, subject rights,
 *    rotation of encrypted fields, retention on a tenant table) goes tenant by tenant.
 *
 * Mutations are audited: purge (tombstone "gdpr.purge"), subject erasure ("gdpr.subject_erase"),
 * consents ("consent.grant" / "consent.withdraw"), by the services in the same transaction as the
 * change; rotation ("crypto.rotate") and retention ("gdpr.retention") write one row per run / per
 * table and tenant that changed something, after the batches (which commit one by one).
 */
import { WEBHOOK_SECRET_ROTATION_TARGET } from "../webhooks/index.js";
import { z } from "zod";
import { createConsentService, type ConsentInput, type ConsentRecord } from "../consent/index.js";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import { validate } from "../core/validate.js";
import {
  CONFIG_ROTATION_TARGET,
  rotateKeys as rotateTargets,
  rotationTargetsFromModels,
  type RotationFailure,
  type RotationProgress,
  type RotationResult,
} from "../crypto/index.js";
import {
  collectExport,
  createGdprService,
  runRetention as runRetentionOn,
  scheduleRuns,
  type RetentionScheduleOptions,
  type PurgeResult,
  type RetentionPolicy,
  type RetentionResult,
  type SubjectTarget,
} from "../gdpr/index.js";
import { tenantDataSources, tenantPlaces, tenantTablesInOrder, type TenantPlace } from "../isolation/data-source.js";
import { traceService } from "../telemetry/index.js";
import type { StratumRuntime } from "./runtime.js";

export interface TenantPurgeResult extends PurgeResult {
  /** The tenant's own schema or database removed after the purge, or null (shared tables, or `keepHome`). */
  home_removed: string | null;
  /** Why removing the (already emptied) home failed; the purge itself committed. */
  home_error?: string;
}

export interface PurgeTenantOptions {
  /** Keep the tenant's emptied schema or database instead of dropping it. Default false. */
  keepHome?: boolean;
}

export interface RotateKeysOptions {
  /** Rows per transaction (default 500). */
  batchSize?: number;
  onProgress?: (progress: RotationProgress & { tenant_id: string | null; place: string }) => void;
  /** Stops after the current batch; run again to resume (rotation is stateless). */
  signal?: AbortSignal;
  /** Only these tenants' encrypted fields (default: every tenant). Config values are always rotated. */
  tenantIds?: readonly string[];
}

export interface KeyRotationTarget {
  /** null for stratum's own config values. */
  tenant_id: string | null;
  /** "stratum" for config, else the tenant's place ("shared", "schema:…", "database:…"). */
  place: string;
  table: string;
  rotated: number;
  remaining: number;
  failed: RotationFailure[];
}

export interface KeyRotationResult {
  /** The key version every value is now (or will be, once `remaining` is 0) sealed with. */
  version: number;
  aborted: boolean;
  rotated: number;
  /** Values still under an older key (locked rows, aborted run, failures): run again. */
  remaining: number;
  failed: RotationFailure[];
  /** Tenants skipped because an isolation move is unfinished (run again after it). */
  skipped_tenants: string[];
  targets: KeyRotationTarget[];
}

export type StratumRetentionPolicy = Omit<RetentionPolicy, "schema" | "tenantColumn">;

const uuid = z.uuid();

function needCipher(runtime: StratumRuntime) {
  if (!runtime.cipher) {
    throw new StratumError(
      "KEY_NOT_FOUND",
      "No encryption key is configured: pass encryptionKeys (or encryptionKey) to stratum(), or set STRATUM_ENCRYPTION_KEYS.",
    );
  }
  return runtime.cipher;
}

export function createComplianceServices(runtime: StratumRuntime) {
  const { db, audit } = runtime;
  const tables = tenantTablesInOrder(runtime.models);
  const tenantTableNames = new Set(tables.map((t) => t.table));
  // Parents first: eraseSubject deletes in reverse, so children (tickets) go before their parents (users).
  const subjectTargets: SubjectTarget[] = tables
    .filter((t) => t.model.subjectField)
    .map((t) => ({ table: t.table, subjectColumn: t.model.fields.find((f) => f.name === t.model.subjectField)?.column ?? t.model.subjectField! }));
  const gdpr = createGdprService(db, (tenantId) => tenantDataSources(runtime, tenantId), {
    audit,
    subjectTargets,
    ...(runtime.cipher ? { cipher: runtime.cipher } : {}),
  });
  const consent = createConsentService(db, { audit });

  const allTenantIds = async (): Promise<string[]> =>
    (await db.query<{ id: string }>(`SELECT id::text AS id FROM public.stratum_tenants ORDER BY depth, id`)).map((r) => r.id);

  /** Suspends the tenant and tells every process (its writes stop before the purge deletes). */
  const freeze = async (tenantId: string) => {
    await db.transaction(async (tx) => {
      const n = await tx.execute(`UPDATE public.stratum_tenants SET status = 'suspended', updated_at = now() WHERE id = $1::uuid AND status = 'active'`, [
        tenantId,
      ]);
      if (n > 0 && runtime.options.bus) await runtime.options.bus.publish(tx, { kind: "tenant", tenantId, subtree: false });
    });
    runtime.router.forget(tenantId);
  };

  const service = {
    /** Art. 20: every row the tenant owns, wherever it lives, as a stream of JSON text chunks (one document). */
    exportTenantData(tenantId: string, options: { batchSize?: number } = {}): AsyncIterable<string> {
      return gdpr.exportTenantData(tenantId, options);
    },

    /** The whole export as one JSON text (small tenants, tests). */
    exportTenantDataJson(tenantId: string, options: { batchSize?: number } = {}): Promise<string> {
      return collectExport(gdpr.exportTenantData(tenantId, options));
    },

    /**
     * Art. 17: suspends the tenant, deletes its rows in the shared tables and its own schema or
     * database, then stratum's rows of it and the tenant row, with a tombstone audit row; finally
     * drops its (emptied) schema or database unless `keepHome`. A tenant with children is refused.
     */
    async purgeTenant(tenantId: string, options: PurgeTenantOptions = {}): Promise<TenantPurgeResult> {
      validate(uuid, tenantId, "tenant id");
      const sources = await tenantDataSources(runtime, tenantId);
      const [children] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.stratum_tenants WHERE parent_id = $1::uuid`, [tenantId]);
      if ((children?.n ?? 0) > 0) {
        throw new StratumError("TENANT_HAS_CHILDREN", `Tenant ${tenantId} has ${children!.n} child tenant(s); purge or move them first.`, { tenantId });
      }
      await freeze(tenantId);
      const result = await gdpr.purgeTenant(tenantId);
      runtime.router.forget(tenantId);
      const out: TenantPurgeResult = { ...result, home_removed: null };
      if (!options.keepHome) {
        for (const source of sources) {
          try {
            out.home_removed = (await source.dropHome()) ?? out.home_removed;
          } catch (error) {
            out.home_error = `${source.name}: ${(error as Error).message}`;
          }
        }
      }
      return out;
    },

    /** Art. 15/20 for one data subject: their rows (models with a subject field) and consents. */
    exportSubjectData(tenantId: string, subjectId: string, options: { batchSize?: number } = {}): AsyncIterable<string> {
      return gdpr.exportSubjectData(tenantId, subjectId, options);
    },

    exportSubjectDataJson(tenantId: string, subjectId: string, options: { batchSize?: number } = {}): Promise<string> {
      return collectExport(gdpr.exportSubjectData(tenantId, subjectId, options));
    },

    /** Art. 17 for one data subject: deletes their rows everywhere (children first) and their consents. */
    eraseSubject(tenantId: string, subjectId: string, options: { keepConsents?: boolean } = {}): Promise<{ counts: Record<string, number> }> {
      return gdpr.eraseSubject(tenantId, subjectId, options);
    },

    recordConsent(tenantId: string, input: ConsentInput): Promise<ConsentRecord> {
      return consent.record(tenantId, input);
    },
    grantConsent(tenantId: string, subjectId: string, purpose: string, source?: string): Promise<ConsentRecord> {
      return consent.grant(tenantId, subjectId, purpose, source);
    },
    withdrawConsent(tenantId: string, subjectId: string, purpose: string, source?: string): Promise<ConsentRecord> {
      return consent.withdraw(tenantId, subjectId, purpose, source);
    },
    /** The current state per purpose (latest record, granted or withdrawn). */
    listConsents(tenantId: string, subjectId: string): Promise<ConsentRecord[]> {
      return consent.current(tenantId, subjectId);
    },
    /** Every consent record, oldest first; one purpose or all. */
    consentHistory(tenantId: string, subjectId: string, purpose?: string): Promise<ConsentRecord[]> {
      return consent.history(tenantId, subjectId, purpose);
    },
    hasConsent(tenantId: string, subjectId: string, purpose: string): Promise<boolean> {
      return consent.has(tenantId, subjectId, purpose);
    },

    /**
     * Re-encrypts every sealed value under the keyring's current key: sensitive config values
     * (admin Db), then each tenant's encrypted model fields in each of its places. Stateless and
     * resumable: run again after an abort or with `remaining > 0`. Audited as "crypto.rotate".
     */
    async rotateKeys(options: RotateKeysOptions = {}): Promise<KeyRotationResult> {
      const cipher = needCipher(runtime);
      const modelTargets = rotationTargetsFromModels(runtime.models).filter((t) => tenantTableNames.has(t.table));
      const out: KeyRotationResult = {
        version: cipher.keyring.current,
        aborted: false,
        rotated: 0,
        remaining: 0,
        failed: [],
        skipped_tenants: [],
        targets: [],
      };
      const run = async (target: Db, tenantId: string | null, place: string, targets: Parameters<typeof rotateTargets>[1]["targets"]) => {
        const result: RotationResult = await rotateTargets(target, {
          cipher,
          ...(targets ? { targets } : {}),
          ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onProgress ? { onProgress: (p: RotationProgress) => options.onProgress!({ ...p, tenant_id: tenantId, place }) } : {}),
        });
        for (const t of result.targets) {
          out.targets.push({ tenant_id: tenantId, place, table: t.table, rotated: t.rotated, remaining: t.remaining, failed: t.failed });
          out.rotated += t.rotated;
          out.remaining += t.remaining;
          out.failed.push(...t.failed);
        }
        if (result.aborted) out.aborted = true;
      };
      await run(db, null, "stratum", [CONFIG_ROTATION_TARGET, WEBHOOK_SECRET_ROTATION_TARGET]);
      if (modelTargets.length > 0 && !out.aborted) {
        const ids = options.tenantIds ? options.tenantIds.map((id) => validate(uuid, id, "tenant id")) : await allTenantIds();
        for (const tenantId of ids) {
          if (out.aborted) break;
          let places: TenantPlace[];
          try {
            places = (await tenantPlaces(runtime, tenantId)).places;
          } catch (error) {
            if (error instanceof StratumError && (error.code === "ISOLATION_MOVE_IN_PROGRESS" || error.code === "TENANT_NOT_FOUND")) {
              if (error.code === "ISOLATION_MOVE_IN_PROGRESS") out.skipped_tenants.push(tenantId);
              continue;
            }
            throw error;
          }
          for (const place of places) {
            if (out.aborted) break;
            await run(place.db, tenantId, place.name, modelTargets);
          }
        }
      }
      await db.transaction((tx) =>
        audit.record(tx, {
          tenantId: null,
          action: "crypto.rotate",
          targetType: "keyring",
          targetId: `v${out.version}`,
          after: { rotated: out.rotated, remaining: out.remaining, failed: out.failed.length, aborted: out.aborted, skipped_tenants: out.skipped_tenants },
        }),
      );
      return out;
    },

    /**
     * Deletes rows older than `days` per policy. On a tenant table the policy runs per tenant (its
     * `tenantId`, or every tenant) in each of the tenant's places; on another table, through the
     * admin Db (stratum's own tables). Audited "gdpr.retention" per table and tenant that lost rows.
     * Tenants in the middle of an isolation move are skipped (their counts are being verified).
     */
    async runRetention(policies: readonly StratumRetentionPolicy[]): Promise<RetentionResult[]> {
      const results: RetentionResult[] = [];
      for (const policy of policies) {
        if (!tenantTableNames.has(policy.table)) {
          results.push(...(await runRetentionOn(db, [policy], { audit })));
          continue;
        }
        const info = tables.find((t) => t.table === policy.table)!;
        const ids = policy.tenantId ? [policy.tenantId] : await allTenantIds();
        for (const tenantId of ids) {
          let places: TenantPlace[];
          try {
            places = (await tenantPlaces(runtime, tenantId)).places;
          } catch (error) {
            // A moving tenant's row counts are being verified: leave it to the next run (unless it was asked for by id).
            if (!policy.tenantId && error instanceof StratumError && (error.code === "ISOLATION_MOVE_IN_PROGRESS" || error.code === "TENANT_NOT_FOUND"))
              continue;
            throw error;
          }
          let deleted = 0;
          for (const place of places) {
            const [r] = await runRetentionOn(place.db, [{ ...policy, tenantId, tenantColumn: info.tenantColumn }]);
            deleted += r?.deleted ?? 0;
          }
          results.push({ table: policy.table, tenantId, deleted });
          if (deleted > 0) {
            await db.transaction((tx) =>
              audit.record(tx, {
                tenantId,
                action: "gdpr.retention",
                targetType: "table",
                targetId: policy.table,
                after: { days: policy.days, deleted, places: places.map((p) => p.name) },
              }),
            );
          }
        }
      }
      return results;
    },
  };
  return {
    ...traceService("stratum", service),
    /** Runs `runRetention(policies)` on a timer (default hourly); `stop()` before exiting. */
    scheduleRetention: (policies: readonly StratumRetentionPolicy[], options?: RetentionScheduleOptions) =>
      scheduleRuns(() => service.runRetention(policies), options),
  };
}
