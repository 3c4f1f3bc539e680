/// <reference lib="dom" />
/** One tenant: breadcrumb, name and badges, its actions, "view as", and a tab per concern. */
import { useState } from "react";
import {
  ApiKeyManager,
  AuditLog,
  Badge,
  ConfigEditor,
  ErrorMessage,
  InheritanceView,
  IsolationPanel,
  Loading,
  PermissionEditor,
  Tabs,
  TenantActions,
  useAsync,
  useRevision,
  WebhookEditor,
  type StratumOperatorClient,
  type TenantRecord,
} from "../../../src/react/index.js";
import { OverviewTab } from "./OverviewTab.js";

export interface TenantPageProps {
  client: StratumOperatorClient;
  tenantId: string;
  impersonating: boolean;
  onViewAs(tenantId: string): void;
  onSelect(tenant: TenantRecord): void;
  onGone(): void;
}

/** Small pages: the log loads the next as the operator scrolls, so the first paints quickly. */
const AUDIT_PAGE = 20;

const STATUS_TONE = { active: "ok", suspended: "warn", archived: "neutral" } as const;

export function TenantPage({ client, tenantId, impersonating, onViewAs, onSelect, onGone }: TenantPageProps) {
  const [tab, setTab] = useState("overview");
  // Re-read after tenant writes: a rename or a move shows here at once.
  const state = useAsync(
    async () => {
      const [tenant, ancestors] = await Promise.all([client.getTenant(tenantId), client.getAncestors(tenantId)]);
      return { tenant, ancestors };
    },
    [client, tenantId],
    useRevision(client, "tenants"),
  );
  if (!state.data) return state.error ? <ErrorMessage error={state.error} onRetry={() => void state.reload()} /> : <Loading label="Loading tenant…" />;
  const { tenant, ancestors } = state.data;
  const name = tenant.name;
  const nameOf = (id: string) => [...ancestors, tenant].find((t) => t.id === id)?.name;

  const tabs = [
    { id: "overview", label: "Overview", render: () => <OverviewTab client={client} tenant={tenant} onSelect={onSelect} /> },
    {
      id: "config",
      label: "Config",
      render: () => (
        <div className="config-layout">
          <ConfigEditor client={client} tenantId={tenantId} />
          <div>
            <h2 className="panel-title">Inheritance</h2>
            <InheritanceView client={client} tenantId={tenantId} />
          </div>
        </div>
      ),
    },
    { id: "permissions", label: "Permissions", render: () => <PermissionEditor client={client} tenantId={tenantId} /> },
    { id: "isolation", label: "Isolation", render: () => <IsolationPanel client={client} tenantId={tenantId} /> },
    { id: "keys", label: "API keys", render: () => <ApiKeyManager client={client} tenantId={tenantId} tenantName={name} /> },
    { id: "webhooks", label: "Webhooks", render: () => <WebhookEditor client={client} tenantId={tenantId} tenantName={name} /> },
    { id: "audit", label: "Audit", render: () => <AuditLog client={client} tenantId={tenantId} tenantName={name} nameOf={nameOf} pageSize={AUDIT_PAGE} /> },
  ];

  return (
    <article className="tenant-page" aria-labelledby="tenant-title">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <ol>
          {ancestors.map((a) => (
            <li key={a.id}>
              <button type="button" className="linklike" onClick={() => onSelect(a)}>
                {a.name}
              </button>
            </li>
          ))}
          <li aria-current="page">{name}</li>
        </ol>
      </nav>
      <header className="tenant-header">
        <div className="tenant-title-row">
          <h1 id="tenant-title">{name}</h1>
          <span className="tenant-badges">
            <Badge tone={STATUS_TONE[tenant.status]}>{tenant.status}</Badge>
            <Badge tone="info">{tenant.isolation_strategy}</Badge>
            <Badge tone="neutral">{`depth ${tenant.depth}`}</Badge>
          </span>
        </div>
        <div className="tenant-toolbar">
          <TenantActions client={client} tenant={tenant} onCreated={onSelect} onDeleted={onGone} />
          {impersonating ? null : (
            <button type="button" className="stratum-button view-as" onClick={() => onViewAs(tenant.id)}>
              View as tenant
            </button>
          )}
        </div>
      </header>
      <Tabs label={`${name} sections`} tabs={tabs} selected={tab} onSelect={setTab} />
    </article>
  );
}
