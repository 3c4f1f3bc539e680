/**
 * What the admin components need from the control plane: a handful of reads and writes, no
 * more, so an app can back them with the fetch adapter, the SDK, or its own proxy.
 *
 * Records are the library's own types as they arrive over JSON (dates as ISO strings).
 */
import type { ConfigRecord, PermissionRecord, TenantPage, TenantRecord } from "../../sdk/types.js";
import type { JsonValue, ResolvedConfig, SetConfigInput } from "../../config/types.js";
import type {
  CreatePermissionInput,
  PermissionMode,
  ResolvedPermissions,
  RevocationMode,
  RevokeResult,
  UpdatePermissionInput,
} from "../../permissions/service.js";

export type {
  ConfigRecord,
  CreatePermissionInput,
  JsonValue,
  PermissionMode,
  PermissionRecord,
  ResolvedConfig,
  ResolvedPermissions,
  RevocationMode,
  RevokeResult,
  SetConfigInput,
  TenantPage,
  TenantRecord,
  UpdatePermissionInput,
};

export interface ListTenantsPageQuery {
  /** Only top-level tenants (for a key limited to a tenant: that tenant). */
  roots?: boolean;
  /** 1..200 */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

export interface StratumAdminClient {
  /** Every tenant the caller may see, a page at a time (a tenant-limited key sees its subtree). */
  listTenants(query?: ListTenantsPageQuery): Promise<TenantPage>;
  getTenant(id: string): Promise<TenantRecord>;
  getChildren(id: string): Promise<TenantRecord[]>;
  /** Root first, without the tenant itself. */
  getAncestors(id: string): Promise<TenantRecord[]>;

  /** Every key the tenant sees, with where its value comes from. Sensitive values arrive redacted. */
  resolveConfig(tenantId: string): Promise<ResolvedConfig>;
  /** The tenant's own rows, no inheritance. */
  getOwnConfig(tenantId: string): Promise<Record<string, ConfigRecord>>;
  setConfig(tenantId: string, key: string, input: SetConfigInput<JsonValue>): Promise<ConfigRecord>;
  deleteConfig(tenantId: string, key: string): Promise<void>;

  resolvePermissions(tenantId: string): Promise<ResolvedPermissions>;
  /** The tenant's own grants, PERMANENT tombstones included (revoked_at set). */
  listPermissions(tenantId: string): Promise<PermissionRecord[]>;
  createPermission(tenantId: string, input: CreatePermissionInput): Promise<PermissionRecord>;
  updatePermission(tenantId: string, key: string, patch: UpdatePermissionInput): Promise<PermissionRecord>;
  /** Revokes by the grant's stored revocation_mode. */
  revokePermission(tenantId: string, key: string): Promise<RevokeResult>;
}
