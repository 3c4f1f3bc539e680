/** /ops: retention, encryption-key rotation and the tenant-home fan-out (keys without a tenant, ops:* scopes). */
import type { Transport } from "../http.js";

export interface RetentionPolicyInput {
  table: string;
  timestamp_column: string;
  days: number;
  tenant_id?: string;
  batch_size?: number;
}

export interface KeyRotationRecord {
  version: number;
  aborted: boolean;
  rotated: number;
  /** Values still under an older key: run again. */
  remaining: number;
  failed: Array<{ table: string; id: string; column: string; code: string }>;
  skipped_tenants: string[];
  targets: Array<{ tenant_id: string | null; place: string; table: string; rotated: number; remaining: number }>;
}

export interface FanOutRecord {
  ok: boolean;
  dry_run: boolean;
  summary: Record<string, number>;
  migration: string | null;
  homes: Array<{ tenant_id: string; strategy: string; placement: string; status: string; applied: string[]; drift: string[]; error?: string }>;
}

export interface OperationsApi {
  runRetention(policies: RetentionPolicyInput[]): Promise<{ results: Array<{ table: string; tenant_id: string | null; deleted: number }> }>;
  rotateEncryptionKey(options?: { batch_size?: number; tenant_ids?: string[] }): Promise<KeyRotationRecord>;
  migrateTenantHomes(options?: { dry_run?: boolean; tenant_ids?: string[]; concurrency?: number; verify?: boolean }): Promise<FanOutRecord>;
}

export function operationsApi(http: Transport): OperationsApi {
  return {
    runRetention: (policies) => http.request({ method: "POST", path: "/ops/retention", body: { policies } }),
    rotateEncryptionKey: (options = {}) => http.request({ method: "POST", path: "/ops/encryption-key/rotate", body: options }),
    migrateTenantHomes: (options = {}) => http.request({ method: "POST", path: "/ops/tenant-homes/migrate", body: options }),
  };
}
