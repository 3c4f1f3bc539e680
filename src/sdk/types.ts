/**
 * Shapes of the control plane's HTTP answers. They reuse the library's own record types; only
 * dates differ, because JSON carries them as ISO strings.
 */
import type { AbacDecision as LibraryAbacDecision, AbacPolicy, AbacPolicyInput } from "../abac/index.js";
import type { ApiKey, CreatedApiKey } from "../apikeys/service.js";
import type { ApiKeyScope } from "../apikeys/scopes.js";
import type { AuditRecord } from "../audit/service.js";
import type { ConsentRecord as Consent } from "../consent/index.js";
import type { TenantPurgeResult } from "../extension/compliance.js";
import type { BatchOutcome, ConfigDiff, ConfigEntry, JsonValue, ResolvedConfig, ResolvedConfigEntry, SetConfigInput } from "../config/types.js";
import type { IsolationStrategyName, Tenant, TenantStatus } from "../core/types.js";
import type { IsolationMove, MoveResult } from "../isolation/move.js";
import type {
  CreatePermissionInput,
  Permission,
  ResolvedPermission,
  ResolvedPermissions,
  RevokeResult,
  UpdatePermissionInput,
} from "../permissions/service.js";

/** A record as it arrives over JSON: every Date becomes an ISO string. */
export type Wire<T> = T extends Date ? string : T extends Array<infer U> ? Array<Wire<U>> : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;

export type TenantRecord = Wire<Tenant>;
export type ConfigRecord = Wire<ConfigEntry>;
export type PermissionRecord = Wire<Permission>;
export type ApiKeyRecord = Wire<ApiKey>;
export type CreatedApiKeyRecord = Wire<CreatedApiKey>;
export type AuditEntryRecord = Wire<AuditRecord>;
export type PolicyRecord = Wire<AbacPolicy>;
export type IsolationMoveRecord = IsolationMove;
export type IsolationMoveResult = MoveResult;
export type ConfigBatchOutcome = Wire<BatchOutcome>;
export type ConsentRecord = Wire<Consent>;
export type TenantPurgeRecord = TenantPurgeResult;

/** POST /tenants/{id}/evaluate: the library's decision in the API's snake_case. */
export type AbacDecision = Omit<LibraryAbacDecision, "decidedBy"> & { decided_by: LibraryAbacDecision["decidedBy"] };

export type {
  AbacPolicyInput,
  ApiKeyScope,
  ConfigDiff,
  CreatePermissionInput,
  IsolationStrategyName,
  JsonValue,
  ResolvedConfig,
  ResolvedConfigEntry,
  ResolvedPermission,
  ResolvedPermissions,
  RevokeResult,
  SetConfigInput,
  TenantStatus,
  UpdatePermissionInput,
};

/** POST /tenants. */
export interface CreateTenantInput {
  name: string;
  /** Default: derived from the name. */
  slug?: string;
  /** Omit for a root tenant (needs an API key without a tenant). */
  parent_id?: string | null;
  isolation_strategy?: IsolationStrategyName;
  /** DATABASE tenants: the configured server to place the database on. */
  server?: string;
  metadata?: Record<string, unknown>;
}

/** GET /tenants. */
export interface ListTenantsQuery {
  parent_id?: string;
  /** Only top-level tenants (for a key limited to a tenant: that tenant). */
  roots?: boolean;
  status?: TenantStatus;
  isolation_strategy?: IsolationStrategyName;
  search?: string;
  /** 1..200, default 50. */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/** What `tenants.update` may change: the name, and the metadata (replaced whole). */
export interface UpdateTenantInput {
  name?: string;
  metadata?: Record<string, unknown>;
}

export interface TenantPage {
  data: TenantRecord[];
  next_cursor: string | null;
}

export interface ConfigBatchEntry extends SetConfigInput<JsonValue> {
  key: string;
}

/** GET /tenants/:id/audit. */
export interface AuditQuery {
  /** Exact action, or a prefix ending in `.*` (config.*). */
  action?: string;
  /** Actor id, or `<type>:<id>`. */
  actor?: string;
  since?: string | Date;
  until?: string | Date;
  /** 1..500, default 50. */
  limit?: number;
  cursor?: string;
}

export interface AuditPage {
  entries: AuditEntryRecord[];
  next_cursor: string | null;
}

export interface CreateApiKeyInput {
  name: string;
  scopes: ApiKeyScope[];
  /** Limit the key to this tenant's subtree; omit for an unrestricted key. */
  tenant_id?: string | null;
  environment?: "live" | "test";
  /** ISO time from which the key is refused; omit for a key that does not expire. */
  expires_at?: string | null;
  /** Requests per minute for this key, when the server rate-limits. */
  rate_limit?: number | null;
}

/** POST /api-keys/{keyId}/rotate. */
export interface RotateApiKeyInput {
  /** How long the old key keeps working; default 3600, 0 ends it now. */
  grace_seconds?: number;
  /** The new key's prefix; default live. */
  environment?: "live" | "test";
}

export interface ListApiKeysQuery {
  tenant_id?: string;
  /** Also keys of the tenant's descendants. */
  subtree?: boolean;
  include_revoked?: boolean;
}

export interface SetIsolationInput {
  strategy: IsolationStrategyName;
  /** DATABASE: the configured server to place the tenant's database on. */
  server?: string;
}

/** One exported row, as the database returned it (column names as keys). */
export type ExportRow = Record<string, unknown>;

/** GET /tenants/:id/export, parsed: format stratum-prisma/tenant-export@1. */
export interface TenantExport {
  format: string;
  tenant_id: string;
  exported_at: string;
  tenant: Record<string, unknown>;
  /** stratum's own rows of the tenant: config, permissions, consents, api_keys (no hashes), webhooks (no secrets), deliveries, audit. */
  stratum: Record<string, ExportRow[]>;
  /** Per place the tenant's rows live ("shared", "schema:<slug>", "database:<server>"), per table. */
  sources: Record<string, Record<string, ExportRow[]>>;
  /** Rows exported, keyed "stratum.<table>" and "<source>.<table>". */
  counts: Record<string, number>;
}

/** GET /tenants/:id/subjects/:subjectId/export, parsed: format stratum-prisma/subject-export@1. */
export interface SubjectExport {
  format: string;
  tenant_id: string;
  subject_id: string;
  exported_at: string;
  consents: ConsentRecord[];
  sources: Record<string, Record<string, ExportRow[]>>;
  counts: Record<string, number>;
}

/** POST /tenants/:id/purge. */
export interface PurgeTenantInput {
  /** The tenant's slug: the purge is refused (VALIDATION_FAILED) unless it matches. */
  confirm: string;
  /** Keep the emptied schema or database instead of dropping it. Default false. */
  keepHome?: boolean;
}

/** DELETE /tenants/:id/subjects/:subjectId: rows deleted, keyed "<source>.<table>" (and "stratum.consents"). */
export interface SubjectErasure {
  counts: Record<string, number>;
}

/** POST /tenants/:id/subjects/:subjectId/consents. */
export interface ConsentWrite {
  /** Lower-case, like marketing_email. */
  purpose: string;
  /** true grants, false withdraws. */
  granted: boolean;
  /** Where it was given: signup_form, support_call, … */
  source?: string | null;
}
