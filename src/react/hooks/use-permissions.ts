/** A tenant's resolved permissions, its own grants (tombstones too) and its chain, loaded together. */
import type { PermissionRecord, ResolvedPermissions, StratumAdminClient, TenantRecord } from "../client/types.js";
import { loadChain } from "../chain.js";
import { useRevision } from "../invalidation.js";
import { useAsync, type AsyncState } from "./use-async.js";

export interface PermissionData {
  chain: TenantRecord[];
  resolved: ResolvedPermissions;
  grants: PermissionRecord[];
}

export function usePermissions(client: StratumAdminClient, tenantId: string): AsyncState<PermissionData> {
  return useAsync(
    async () => {
      const [chain, resolved, grants] = await Promise.all([loadChain(client, tenantId), client.resolvePermissions(tenantId), client.listPermissions(tenantId)]);
      return { chain, resolved, grants };
    },
    [client, tenantId],
    useRevision(client, "permissions"),
  );
}
