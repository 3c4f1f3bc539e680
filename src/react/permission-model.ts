/** Permission rows of a tenant, and the words the editor uses for modes. */
import type { PermissionMode, PermissionRecord, ResolvedPermissions, RevocationMode, TenantRecord } from "./client/types.js";
import { tenantName } from "./chain.js";

export const PERMISSION_MODES: readonly PermissionMode[] = ["LOCKED", "INHERITED", "DELEGATED"];
export const REVOCATION_MODES: readonly RevocationMode[] = ["CASCADE", "SOFT", "PERMANENT"];

export const MODE_HELP: Record<PermissionMode, string> = {
  LOCKED: "descendants get it and cannot change it",
  INHERITED: "descendants get it and may override the value",
  DELEGATED: "descendants get it and may re-grant it further down",
};

export const REVOCATION_HELP: Record<RevocationMode, string> = {
  CASCADE: "removes this grant and every override or re-grant of the key below this tenant",
  SOFT: "removes this grant only; overrides and re-grants below stay and stand on their own",
  PERMANENT: "removes this grant and those below, and leaves a tombstone: the key can never be granted here or below again",
};

export interface PermissionRowModel {
  key: string;
  value: unknown;
  mode: PermissionMode;
  locked: boolean;
  delegated: boolean;
  sourceId: string;
  sourceName: string;
  isOwn: boolean;
  /** The tenant's own live grant of the key, which it can revoke. */
  grant: PermissionRecord | undefined;
}

export function permissionRows(
  tenantId: string,
  resolved: ResolvedPermissions,
  grants: readonly PermissionRecord[],
  chain: readonly TenantRecord[],
): PermissionRowModel[] {
  return Object.values(resolved)
    .map((p) => ({
      key: p.key,
      value: p.value,
      mode: p.mode,
      locked: p.locked,
      delegated: p.delegated,
      sourceId: p.source_tenant_id,
      sourceName: tenantName(chain, p.source_tenant_id),
      isOwn: p.source_tenant_id === tenantId,
      grant: grants.find((g) => g.key === p.key && g.revoked_at === null),
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

/** Own grants that do not decide the key: tombstones, and grants a LOCKED grant above outranks. */
export function grantsNotInEffect(resolved: ResolvedPermissions, grants: readonly PermissionRecord[], tenantId: string): PermissionRecord[] {
  return grants.filter((g) => g.revoked_at !== null || resolved[g.key]?.source_tenant_id !== tenantId);
}
