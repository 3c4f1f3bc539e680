/// <reference lib="dom" />
/**
 * The operator console: top bar (brand, navigation, tenant switcher, theme, operator), the
 * "viewing as" banner when impersonating, the tenant tree on the left and the selected tenant's
 * tabs on the right.
 */
import { useMemo, useState } from "react";
import { createFetchAdminClient, StratumProvider, type StratumTheme, type TenantRecord } from "../../../src/react/index.js";
import { dashboardApi, type SessionInfo } from "./api.js";
import { dashboardCss } from "./styles.js";
import { TenantPage } from "./TenantPage.js";
import { TopBar } from "./TopBar.js";
import { TreePane } from "./TreePane.js";

export interface ConsoleProps {
  session: SessionInfo;
  theme: StratumTheme;
  onTheme(theme: StratumTheme): void;
  onSession(session: SessionInfo): void;
  onSignedOut(): void;
}

export function Console({ session, theme, onTheme, onSession, onSignedOut }: ConsoleProps) {
  // The proxy adds the key server-side; the browser sends only its session cookie.
  const client = useMemo(() => createFetchAdminClient({ controlPlaneUrl: `${location.origin}/ui` }), []);
  const [selected, setSelected] = useState<TenantRecord | null>(null);
  const viewAs = async (tenantId: string | null) => onSession(await dashboardApi.viewAs(tenantId));

  return (
    <StratumProvider client={client} theme={theme} className="console">
      <style>{dashboardCss}</style>
      <a className="skip-link" href="#tenant-main">
        Skip to tenant details
      </a>
      <TopBar
        client={client}
        session={session}
        theme={theme}
        onTheme={onTheme}
        selectedId={selected?.id ?? null}
        onSelect={setSelected}
        onSignedOut={onSignedOut}
      />
      {session.view_as ? (
        <div className="impersonation" role="region" aria-label="Impersonation">
          <span className="impersonation-label">Viewing as {session.view_as.name}</span>
          <span>Everything below is what a key of {session.view_as.name} can see and do.</span>
          <button type="button" className="stratum-button" onClick={() => void viewAs(null)}>
            Stop viewing as
          </button>
        </div>
      ) : null}
      <div className="console-body">
        <TreePane client={client} selectedId={selected?.id ?? null} onSelect={setSelected} />
        <main id="tenant-main" className="console-main">
          {selected ? (
            <TenantPage
              key={selected.id}
              client={client}
              tenantId={selected.id}
              impersonating={session.view_as !== null}
              onViewAs={(id) => void viewAs(id)}
              onSelect={setSelected}
              onGone={() => setSelected(null)}
            />
          ) : (
            <div className="console-empty">
              <h1>Welcome, {session.name}</h1>
              <p>Pick a tenant in the tree or the switcher to see its clients, config, permissions, keys and audit trail.</p>
            </div>
          )}
        </main>
      </div>
    </StratumProvider>
  );
}
