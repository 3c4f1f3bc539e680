/** A tenant's webhooks (never their secrets). */
import type { StratumOperatorClient, WebhookRecord } from "../client/operator-types.js";
import { useRevision } from "../invalidation.js";
import { useAsync, type AsyncState } from "./use-async.js";

export function useWebhooks(client: StratumOperatorClient, tenantId: string): AsyncState<WebhookRecord[]> {
  return useAsync(() => client.listWebhooks(tenantId), [client, tenantId], useRevision(client, "webhooks"));
}
