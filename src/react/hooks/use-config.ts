/** A tenant's resolved config, its own rows and its chain (to name sources), loaded together. */
import type { ConfigRecord, ResolvedConfig, StratumAdminClient, TenantRecord } from "../client/types.js";
import { loadChain } from "../chain.js";
import { useRevision } from "../invalidation.js";
import { useAsync, type AsyncState } from "./use-async.js";

export interface ConfigData {
  chain: TenantRecord[];
  resolved: ResolvedConfig;
  own: Record<string, ConfigRecord>;
}

export function useConfig(client: StratumAdminClient, tenantId: string): AsyncState<ConfigData> {
  return useAsync(
    async () => {
      const [chain, resolved, own] = await Promise.all([loadChain(client, tenantId), client.resolveConfig(tenantId), client.getOwnConfig(tenantId)]);
      return { chain, resolved, own };
    },
    [client, tenantId],
    useRevision(client, "config"),
  );
}
