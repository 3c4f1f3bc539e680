/**
 * A webhook's delivery log, newest first. While a delivery is still on its way (pending, queued,
 * retrying) the log is read again every `pollMs`, so a retry is seen landing without a reload;
 * once every delivery has settled, polling stops.
 */
import { useEffect } from "react";
import type { DeliveryRecord, StratumOperatorClient } from "../client/operator-types.js";
import { useRevision } from "../invalidation.js";
import { useAsync, type AsyncState } from "./use-async.js";

const IN_FLIGHT = new Set<DeliveryRecord["status"]>(["pending", "queued", "retrying"]);

/** True while the worker has yet to settle one of these deliveries. */
export function hasDeliveryInFlight(deliveries: readonly DeliveryRecord[] | undefined): boolean {
  return (deliveries ?? []).some((d) => IN_FLIGHT.has(d.status));
}

export function useDeliveries(client: StratumOperatorClient, tenantId: string, webhookId: string, pollMs = 1000): AsyncState<DeliveryRecord[]> {
  const state = useAsync(() => client.listDeliveries(tenantId, webhookId, { limit: 50 }), [client, tenantId, webhookId], useRevision(client, "webhooks"));
  const inFlight = hasDeliveryInFlight(state.data);
  const { loading, reload } = state;
  useEffect(() => {
    // `loading` turning false restarts the timer after each answer: one read in flight at a time.
    if (!inFlight || loading) return;
    const timer = setTimeout(() => void reload(), pollMs);
    return () => clearTimeout(timer);
  }, [inFlight, loading, reload, pollMs]);
  return state;
}
