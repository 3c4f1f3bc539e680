/** The tenant and its ancestors, root first: every source a resolved value can name is on it. */
import type { StratumAdminClient, TenantRecord } from "./client/types.js";

export async function loadChain(client: StratumAdminClient, tenantId: string): Promise<TenantRecord[]> {
  const [ancestors, tenant] = await Promise.all([client.getAncestors(tenantId), client.getTenant(tenantId)]);
  return [...ancestors, tenant];
}

/** The tenant's name for a source id; the id itself when the caller's key cannot see that tenant. */
export function tenantName(chain: readonly TenantRecord[], id: string): string {
  return chain.find((t) => t.id === id)?.name ?? id;
}
