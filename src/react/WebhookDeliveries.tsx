/// <reference lib="dom" />
/**
 * One webhook's delivery log: each event sent, its status, attempts and the receiver's last
 * error, with "Retry" on a dead (or delivered) delivery, "Retry all dead" and "Send test event".
 * The log follows deliveries in flight by itself (useDeliveries polls until they settle).
 */
import { useContext } from "react";
import type { DeliveryRecord, StratumOperatorClient, WebhookRecord } from "./client/operator-types.js";
import { Badge, type BadgeTone } from "./components/Badge.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { Loading } from "./components/Loading.js";
import { formatDate, StratumContext } from "./context.js";
import { useDeliveries } from "./hooks/use-deliveries.js";
import { useMutation } from "./hooks/use-mutation.js";

export interface WebhookDeliveriesProps {
  client: StratumOperatorClient;
  tenantId: string;
  webhook: WebhookRecord;
  className?: string;
}

const STATUS_TONE: Record<DeliveryRecord["status"], BadgeTone> = { pending: "neutral", queued: "info", retrying: "warn", delivered: "ok", dead: "danger" };
/** The server refuses a retry while the delivery is still on its way. */
const RETRYABLE = new Set<DeliveryRecord["status"]>(["dead", "delivered"]);

export function WebhookDeliveries({ client, tenantId, webhook, className }: WebhookDeliveriesProps) {
  const log = useDeliveries(client, tenantId, webhook.id);
  const write = useMutation(client, ["webhooks"]);
  const locale = useContext(StratumContext)?.locale;
  const dead = (log.data ?? []).filter((d) => d.status === "dead").length;
  const label = `Delivery log of ${webhook.url}`;
  return (
    <section className={["stratum-deliveries", className].filter(Boolean).join(" ")} aria-label={label}>
      <h3 className="stratum-deliveries-title">
        Delivery log <span className="stratum-url">{webhook.url}</span>
      </h3>
      <div className="stratum-toolbar">
        <button
          type="button"
          className="stratum-button"
          disabled={write.pending}
          onClick={() => void write.run(() => client.sendTestWebhook(tenantId, webhook.id), "Test event queued.")}
        >
          Send test event
        </button>
        <button
          type="button"
          className="stratum-button"
          disabled={write.pending || dead === 0}
          onClick={() =>
            void write.run(
              () => client.retryDeadDeliveries(tenantId, webhook.id),
              (r) => `Retrying ${r.retried} dead deliveries.`,
            )
          }
        >
          Retry all dead
        </button>
      </div>
      {write.error ? <ErrorMessage error={write.error} /> : null}
      {!log.data ? (
        log.error ? (
          <ErrorMessage error={log.error} onRetry={() => void log.reload()} />
        ) : (
          <Loading label="Loading deliveries…" />
        )
      ) : log.data.length === 0 ? (
        <p className="stratum-empty">No deliveries yet: send a test event, or wait for one of its events.</p>
      ) : (
        <div className="stratum-table-wrap">
          <table className="stratum-table stratum-deliveries-table">
            {/* The region names the URL; the caption stays short (a URL would crowd the panel). */}
            <caption>Deliveries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Last error</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {log.data.map((d) => (
                <tr key={d.id}>
                  <th scope="row">
                    <code>{d.event}</code>
                  </th>
                  {/* Attempts ride with the status: one column fewer keeps the log whole on a tablet. */}
                  <td>
                    <Badge tone={STATUS_TONE[d.status]}>{d.status}</Badge>{" "}
                    <span className="stratum-help">{`${d.attempts} ${d.attempts === 1 ? "attempt" : "attempts"}`}</span>
                  </td>
                  <td className="stratum-value">{d.last_error ?? "—"}</td>
                  <td>
                    <time dateTime={d.created_at}>{formatDate(d.created_at, locale)}</time>
                  </td>
                  <td className="stratum-actions">
                    {RETRYABLE.has(d.status) ? (
                      <button
                        type="button"
                        className="stratum-button"
                        aria-label={`Retry ${d.event} delivery`}
                        disabled={write.pending}
                        onClick={() => void write.run(() => client.retryDelivery(tenantId, webhook.id, d.id), `Retrying ${d.event}.`)}
                      >
                        Retry
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
