/// <reference lib="dom" />
/**
 * The dashboard: the tenant tree on the left; the selected tenant's MSP view, config (with its
 * inheritance) and permissions on the right. Every panel talks to the control plane or the
 * overview route over HTTP, so the page holds no data the server did not send it.
 */
import { useCallback, useState } from "react";
import { ConfigEditor, InheritanceView, PermissionEditor, TenantTree, type StratumAdminClient, type TenantRecord } from "../../../src/react/index.js";
import type { Overview } from "../overview.js";
import { MspPanel } from "./MspPanel.js";

export interface DashboardAppProps {
  /** The control plane client (createFetchAdminClient). */
  client: StratumAdminClient;
  /** Where the dashboard server listens (origin), for the overview route. */
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
}

export function DashboardApp({ client, baseUrl, apiKey, fetch: fetchImpl = globalThis.fetch.bind(globalThis) }: DashboardAppProps) {
  const [selected, setSelected] = useState<TenantRecord | null>(null);
  const loadOverview = useCallback(
    async (tenantId: string): Promise<Overview> => {
      const res = await fetchImpl(`${baseUrl}/dashboard/api/overview/${encodeURIComponent(tenantId)}`, { headers: { "x-api-key": apiKey } });
      const body = (await res.json()) as Overview | { error: { message: string } };
      if (!res.ok || "error" in body) throw new Error("error" in body ? body.error.message : `HTTP ${res.status}`);
      return body;
    },
    [fetchImpl, baseUrl, apiKey],
  );

  return (
    <div className="dashboard">
      <nav className="dashboard-tree">
        <h1>MSSP dashboard</h1>
        <TenantTree client={client} selectedId={selected?.id ?? null} onSelect={setSelected} />
      </nav>
      <main className="dashboard-detail">
        {selected ? (
          <>
            <h2>
              {selected.name} <small>({selected.isolation_strategy})</small>
            </h2>
            <MspPanel tenantId={selected.id} load={loadOverview} />
            <ConfigEditor key={`config-${selected.id}`} client={client} tenantId={selected.id} />
            <InheritanceView key={`inherit-${selected.id}`} client={client} tenantId={selected.id} />
            <PermissionEditor key={`perm-${selected.id}`} client={client} tenantId={selected.id} />
          </>
        ) : (
          <p>Select a tenant in the tree to see its clients, config and permissions.</p>
        )}
      </main>
    </div>
  );
}
