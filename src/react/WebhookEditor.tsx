/// <reference lib="dom" />
/**
 * A tenant's webhooks: register (the signing secret is shown once), pause/resume, rotate the
 * secret, delete, and open one webhook's delivery log (with retry) below the table.
 */
import { useContext, useState } from "react";
import type { StratumOperatorClient, WebhookRecord } from "./client/operator-types.js";
import { Badge } from "./components/Badge.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { Loading } from "./components/Loading.js";
import { SecretOnce } from "./components/SecretOnce.js";
import { TextField } from "./components/TextField.js";
import { formatDate, StratumContext } from "./context.js";
import { useMutation } from "./hooks/use-mutation.js";
import { useWebhooks } from "./hooks/use-webhooks.js";
import { WebhookDeliveries } from "./WebhookDeliveries.js";

export interface WebhookEditorProps {
  client: StratumOperatorClient;
  tenantId: string;
  tenantName: string;
  className?: string;
}

export function WebhookEditor({ client, tenantId, tenantName, className }: WebhookEditorProps) {
  const hooks = useWebhooks(client, tenantId);
  const locale = useContext(StratumContext)?.locale;
  const write = useMutation(client, ["webhooks"]);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState("tenant.*, config.*");
  const [secret, setSecret] = useState<string | null>(null);
  // One delivery log open at a time, under the table: a log per row would bury the other rows.
  const [logOf, setLogOf] = useState<string | null>(null);
  const logged = hooks.data?.find((h) => h.id === logOf);
  const eventList = events
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);

  const create = async () => {
    const made = await write.run(() => client.createWebhook(tenantId, { url: url.trim(), events: eventList }), "Webhook registered.");
    if (made) {
      setUrl("");
      setSecret(made.secret);
    }
  };
  const rotate = async (h: WebhookRecord) => {
    const answer = await write.run(() => client.rotateWebhookSecret(tenantId, h.id), "Signing secret replaced.");
    if (answer) setSecret(answer.secret);
  };

  return (
    <section className={["stratum-webhooks", className].filter(Boolean).join(" ")} aria-label={`Webhooks of ${tenantName}`}>
      {secret ? <SecretOnce label="Signing secret" secret={secret} onDone={() => setSecret(null)} /> : null}
      {write.error ? <ErrorMessage error={write.error} /> : null}
      {!hooks.data ? (
        hooks.error ? (
          <ErrorMessage error={hooks.error} onRetry={() => void hooks.reload()} />
        ) : (
          <Loading label="Loading webhooks…" />
        )
      ) : hooks.data.length === 0 ? (
        <p className="stratum-empty">{tenantName} has no webhooks.</p>
      ) : (
        <div className="stratum-table-wrap">
          <table className="stratum-table">
            <caption>{`Webhooks of ${tenantName}`}</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Events</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {hooks.data.map((h) => (
                <tr key={h.id}>
                  <th scope="row" className="stratum-url">
                    {h.url} {h.active ? <Badge tone="ok">active</Badge> : <Badge tone="warn">paused</Badge>}
                  </th>
                  <td>{h.events.join(", ")}</td>
                  <td>
                    <time dateTime={h.created_at}>{formatDate(h.created_at, locale)}</time>
                  </td>
                  <td className="stratum-actions">
                    <button
                      type="button"
                      className="stratum-button"
                      aria-expanded={logOf === h.id}
                      aria-controls={logOf === h.id ? "stratum-delivery-log" : undefined}
                      aria-label={`Delivery log of ${h.url}`}
                      onClick={() => setLogOf(logOf === h.id ? null : h.id)}
                    >
                      Delivery log
                    </button>
                    <button
                      type="button"
                      className="stratum-button"
                      disabled={write.pending}
                      onClick={() =>
                        void write.run(() => client.updateWebhook(tenantId, h.id, { active: !h.active }), h.active ? "Webhook paused." : "Webhook resumed.")
                      }
                    >
                      {h.active ? "Pause" : "Resume"}
                    </button>
                    <button type="button" className="stratum-button" disabled={write.pending} onClick={() => void rotate(h)}>
                      Rotate secret
                    </button>
                    <button
                      type="button"
                      className="stratum-button stratum-button--danger"
                      disabled={write.pending}
                      onClick={() => void write.run(() => client.deleteWebhook(tenantId, h.id), "Webhook deleted.")}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {logged ? (
        <div id="stratum-delivery-log">
          <WebhookDeliveries client={client} tenantId={tenantId} webhook={logged} />
        </div>
      ) : null}
      <form
        className="stratum-inline-form"
        aria-label="Register a webhook"
        onSubmit={(event) => {
          event.preventDefault();
          void create();
        }}
      >
        <TextField label="Endpoint URL" type="url" size={40} value={url} onChange={setUrl} placeholder="https://soc.example.com/hooks/stratum" />
        <TextField label="Events" value={events} onChange={setEvents} help="Comma-separated: exact types, prefixes (tenant.*) or *." />
        <button type="submit" className="stratum-button stratum-button--primary" disabled={!url.trim() || eventList.length === 0 || write.pending}>
          Register webhook
        </button>
      </form>
    </section>
  );
}
