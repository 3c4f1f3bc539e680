/// <reference lib="dom" />
/**
 * The MSP view: counts, the keys locked for this tenant and by whom, and every client with its
 * health (status), isolation, the config keys it overrides and its ticket counts. This is where an
 * operator answers "which clients override max_users, and who locked theme?".
 */
import { Badge, ErrorMessage, Loading, useAsync, useRevision, type StratumOperatorClient, type TenantRecord } from "../../../src/react/index.js";
import { dashboardApi } from "./api.js";

export interface OverviewTabProps {
  client: StratumOperatorClient;
  tenant: TenantRecord;
  onSelect(tenant: TenantRecord): void;
}

const STATUS_TONE = { active: "ok", suspended: "warn", archived: "neutral" } as const;

/** The server lists clients depth-first by id; an operator scans them depth-first by name. */
function byName<T extends { tenant_id: string; parent_id: string | null; name: string }>(rows: readonly T[], top: string): T[] {
  const out: T[] = [];
  const walk = (parent: string) => {
    for (const r of rows.filter((c) => c.parent_id === parent).sort((a, b) => a.name.localeCompare(b.name))) {
      out.push(r);
      walk(r.tenant_id);
    }
  };
  walk(top);
  return out;
}

export function OverviewTab({ client, tenant, onSelect }: OverviewTabProps) {
  // Any write can change counts, overrides or locks: re-read after config and tenant writes.
  const revision = useRevision(client, "overview") + useRevision(client, "config") + useRevision(client, "tenants");
  const state = useAsync(() => dashboardApi.overview(tenant.id), [tenant.id], revision);
  const o = state.data;
  if (!o) return state.error ? <ErrorMessage error={state.error} onRetry={() => void state.reload()} /> : <Loading label="Loading the MSP view…" rows={5} />;
  const direct = o.clients.filter((c) => c.depth === 1);
  const suspended = o.clients.filter((c) => c.status !== "active").length;
  const stats = [
    { label: direct.length === o.clients.length ? "Clients" : "Direct clients", value: direct.length },
    { label: "Needs attention", value: suspended },
    { label: "Open tickets", value: o.totals.open, id: "total-open" },
    { label: "Closed tickets", value: o.totals.closed, id: "total-closed" },
  ];
  const open = async (id: string) => onSelect(await client.getTenant(id));
  return (
    <section aria-label={`MSP view of ${o.tenant.name}`} className="overview">
      <ul className="stat-cards">
        {stats.map((s) => (
          <li key={s.label} className="stat-card">
            <span className="stat-value" data-testid={s.id}>
              {s.value}
            </span>
            <span className="stat-label">{s.label}</span>
          </li>
        ))}
      </ul>
      <section aria-labelledby="locked-title" className="card">
        <h2 id="locked-title" className="panel-title">
          Locked for {o.tenant.name}
        </h2>
        {o.locked.length === 0 ? (
          <p className="stratum-empty">No key is locked on this tenant's chain.</p>
        ) : (
          <ul className="locked-list">
            {o.locked.map((l) => (
              <li key={l.key}>
                <code>{l.key}</code> <span className="stratum-help">locked by</span> <strong>{l.locked_by.name}</strong>
              </li>
            ))}
          </ul>
        )}
      </section>
      <div className="stratum-table-wrap">
        <table className="stratum-table">
          <caption>{`Clients of ${o.tenant.name}`}</caption>
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">Health</th>
              <th scope="col">Isolation</th>
              <th scope="col">Overrides</th>
              <th scope="col" className="num">
                Open
              </th>
              <th scope="col" className="num">
                Closed
              </th>
              <th scope="col" className="num">
                Total
              </th>
            </tr>
          </thead>
          <tbody>
            {byName(o.clients, o.tenant.id).map((c) => (
              <tr key={c.tenant_id} data-tenant-id={c.tenant_id}>
                <th scope="row" style={{ paddingLeft: `${0.65 + (c.depth - 1) * 1.25}em` }}>
                  <button type="button" className="linklike" onClick={() => void open(c.tenant_id)}>
                    {c.name}
                  </button>
                </th>
                <td>
                  <Badge tone={STATUS_TONE[c.status]}>{c.status}</Badge>
                </td>
                <td title={c.via === "own_scope" ? "Own database: counted in its own scope" : "Counted through the descendants scope"}>
                  {c.isolation_strategy}
                </td>
                <td>
                  {c.overrides.length ? (
                    <span className="override-list">
                      {c.overrides.map((k) => (
                        <code key={k} className="override">
                          {k}
                        </code>
                      ))}
                    </span>
                  ) : (
                    <span className="stratum-help">none</span>
                  )}
                </td>
                <td className="num">{c.open}</td>
                <td className="num">{c.closed}</td>
                <td className="num">{c.total}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={4}>
                All tickets
              </th>
              <td className="num">{o.totals.open}</td>
              <td className="num">{o.totals.closed}</td>
              <td className="num" data-testid="total">
                {o.totals.total}
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
    </section>
  );
}
