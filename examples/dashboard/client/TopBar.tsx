/// <reference lib="dom" />
/** Brand, navigation, the tenant switcher, the theme switch and the signed-in operator. */
import { TenantSwitcher, type StratumOperatorClient, type StratumTheme, type TenantRecord } from "../../../src/react/index.js";
import { dashboardApi, type SessionInfo } from "./api.js";

export interface TopBarProps {
  client: StratumOperatorClient;
  session: SessionInfo;
  theme: StratumTheme;
  onTheme(theme: StratumTheme): void;
  selectedId: string | null;
  onSelect(tenant: TenantRecord): void;
  onSignedOut(): void;
}

export function TopBar({ client, session, theme, onTheme, selectedId, onSelect, onSignedOut }: TopBarProps) {
  return (
    <header className="topbar">
      <span className="brand">
        <span className="brand-mark" aria-hidden="true">
          ◆
        </span>{" "}
        AcmeSec Console
      </span>
      <nav aria-label="Main" className="topnav">
        <a href="/" aria-current="page">
          Tenants
        </a>
        <a href="/api/v1/docs">API reference</a>
      </nav>
      <TenantSwitcher client={client} selectedId={selectedId} onSelect={onSelect} label="Go to tenant" className="topbar-switcher" />
      <div className="topbar-end">
        <button type="button" className="stratum-button" aria-pressed={theme === "dark"} onClick={() => onTheme(theme === "dark" ? "light" : "dark")}>
          {theme === "dark" ? "Light theme" : "Dark theme"}
        </button>
        <span className="operator" title={session.email}>
          {session.name}
        </span>
        <button type="button" className="stratum-button" onClick={() => void dashboardApi.logout().then(onSignedOut)}>
          Sign out
        </button>
      </div>
    </header>
  );
}
