/// <reference lib="dom" />
/** The MSP view: the selected tenant's clients and their ticket counts, from the example's overview route. */
import { useEffect, useState } from "react";
import type { Overview } from "../overview.js";

export interface MspPanelProps {
  tenantId: string;
  /** GETs the overview JSON for a tenant (the app adds the API key). */
  load: (tenantId: string) => Promise<Overview>;
}

type State = { status: "loading" } | { status: "error"; message: string } | { status: "ready"; overview: Overview };

export function MspPanel({ tenantId, load }: MspPanelProps) {
  const [state, setState] = useState<State>({ status: "loading" });
  useEffect(() => {
    let live = true;
    setState({ status: "loading" });
    load(tenantId).then(
      (overview) => live && setState({ status: "ready", overview }),
      (error: unknown) => live && setState({ status: "error", message: error instanceof Error ? error.message : String(error) }),
    );
    // A late answer for a tenant no longer selected must not overwrite the current one.
    return () => {
      live = false;
    };
  }, [tenantId, load]);

  if (state.status === "loading") return <p role="status">Loading the MSP view…</p>;
  if (state.status === "error") return <p role="alert">MSP view failed: {state.message}</p>;
  const { overview } = state;
  return (
    <section aria-label={`MSP view of ${overview.tenant.name}`} className="msp-panel">
      <h3>MSP view (read-only, descendants scope)</h3>
      {overview.clients.length === 0 ? <p>{overview.tenant.name} has no clients.</p> : null}
      <table className="stratum-table">
        <thead>
          <tr>
            <th scope="col">Client</th>
            <th scope="col">Isolation</th>
            <th scope="col">Open</th>
            <th scope="col">Closed</th>
            <th scope="col">Total</th>
          </tr>
        </thead>
        <tbody>
          {overview.clients.map((c) => (
            <tr key={c.tenant_id} data-tenant-id={c.tenant_id}>
              <th scope="row" style={{ paddingLeft: `${c.depth - 1}rem` }}>
                {c.name}
              </th>
              <td title={c.via === "own_scope" ? "outside the shared tables: counted in its own scope" : "counted through the descendants scope"}>
                {c.isolation_strategy}
              </td>
              <td>{c.open}</td>
              <td>{c.closed}</td>
              <td>{c.total}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">All tickets</th>
            <td />
            <td data-testid="total-open">{overview.totals.open}</td>
            <td data-testid="total-closed">{overview.totals.closed}</td>
            <td data-testid="total">{overview.totals.total}</td>
          </tr>
        </tfoot>
      </table>
    </section>
  );
}
