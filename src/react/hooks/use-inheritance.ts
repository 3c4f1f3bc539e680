/** The chain root → tenant, each member's own config, and what the server resolves for the tenant. */
import type { ConfigRecord, ResolvedConfig, StratumAdminClient, TenantRecord } from "../client/types.js";
import { loadChain } from "../chain.js";
import { useRevision } from "../invalidation.js";
import { useAsync, type AsyncState } from "./use-async.js";

export interface InheritanceData {
  chain: TenantRecord[];
  ownByTenant: Record<string, Record<string, ConfigRecord>>;
  resolved: ResolvedConfig;
}

export function useInheritance(client: StratumAdminClient, tenantId: string): AsyncState<InheritanceData> {
  return useAsync(
    async () => {
      const [chain, resolved] = await Promise.all([loadChain(client, tenantId), client.resolveConfig(tenantId)]);
      // One request per chain member (at most 21): the tree is at most 20 deep.
      const owns = await Promise.all(chain.map((t) => client.getOwnConfig(t.id)));
      const ownByTenant = Object.fromEntries(chain.map((t, i) => [t.id, owns[i] ?? {}]));
      return { chain, ownByTenant, resolved };
    },
    [client, tenantId],
    useRevision(client, "config"),
  );
}
