/**
 * A tenant's resolved config: every key it sees, where the value comes from, and what the
 * tenant may do with it.
 */
import type { StratumAdminClient } from "./client/types.js";
import { tenantName } from "./chain.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { Loading } from "./components/Loading.js";
import { ConfigAddForm } from "./ConfigAddForm.js";
import { configRows } from "./config-model.js";
import { ConfigRow } from "./ConfigRow.js";
import { useConfig } from "./hooks/use-config.js";
import { invalidate } from "./invalidation.js";

export interface ConfigEditorProps {
  client: StratumAdminClient;
  tenantId: string;
  className?: string;
}

export function ConfigEditor({ client, tenantId, className }: ConfigEditorProps) {
  const config = useConfig(client, tenantId);
  const data = config.data;
  if (!data) return config.error ? <ErrorMessage error={config.error} onRetry={() => void config.reload()} /> : <Loading label="Loading config…" />;

  // Every panel reading config (this table, the inheritance view, other tenants' editors) re-reads.
  const changed = async () => invalidate(client, "config");
  const name = tenantName(data.chain, tenantId);
  const rows = configRows(tenantId, data.resolved, data.own, data.chain);
  return (
    <section className={["stratum-config-editor", className].filter(Boolean).join(" ")} aria-label={`Config of ${name}`} aria-busy={config.loading}>
      {config.error ? <ErrorMessage error={config.error} onRetry={() => void config.reload()} /> : null}
      {rows.length === 0 ? (
        <p className="stratum-empty">No config: {name} and its ancestors set no keys.</p>
      ) : (
        <div className="stratum-table-wrap">
          <table className="stratum-table">
            <caption>{`Config of ${name}`}</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col">Source</th>
                <th scope="col">Lock</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <ConfigRow key={row.key} client={client} tenantId={tenantId} row={row} onChanged={changed} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfigAddForm client={client} tenantId={tenantId} onAdded={changed} />
    </section>
  );
}
