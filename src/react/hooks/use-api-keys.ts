/** The API keys limited to a tenant (revoked ones too: an operator must see what stopped working). */
import type { ApiKeyRecord, StratumOperatorClient } from "../client/operator-types.js";
import { useRevision } from "../invalidation.js";
import { useAsync, type AsyncState } from "./use-async.js";

export function useApiKeys(client: StratumOperatorClient, tenantId: string): AsyncState<ApiKeyRecord[]> {
  return useAsync(() => client.listApiKeys({ tenant_id: tenantId, include_revoked: true }), [client, tenantId], useRevision(client, "keys"));
}
