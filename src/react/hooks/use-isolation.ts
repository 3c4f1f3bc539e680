/** A tenant's current record and its isolation move journal, loaded together. */
import type { IsolationMoveRecord, StratumOperatorClient } from "../client/operator-types.js";
import type { TenantRecord } from "../client/types.js";
import { useRevision } from "../invalidation.js";
import { useAsync, type AsyncState } from "./use-async.js";

export interface IsolationData {
  tenant: TenantRecord;
  moves: IsolationMoveRecord[];
}

export function useIsolation(client: StratumOperatorClient, tenantId: string): AsyncState<IsolationData> {
  const revision = useRevision(client, "isolation") + useRevision(client, "tenants");
  return useAsync(
    async () => {
      const [tenant, moves] = await Promise.all([client.getTenant(tenantId), client.listIsolationMoves(tenantId)]);
      return { tenant, moves };
    },
    [client, tenantId],
    revision,
  );
}
