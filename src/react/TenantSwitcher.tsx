/**
 * Jump to any tenant the caller can see: a labelled select in tree order, indented by depth.
 * Plain <select>, so keyboard, type-ahead and screen readers work as the platform does them.
 */
import type { StratumAdminClient, TenantRecord } from "./client/types.js";
import { SelectField } from "./components/SelectField.js";
import { useAllTenants } from "./hooks/use-all-tenants.js";

export interface TenantSwitcherProps {
  client: StratumAdminClient;
  selectedId: string | null;
  onSelect(tenant: TenantRecord): void;
  label?: string;
  className?: string;
}

export function TenantSwitcher({ client, selectedId, onSelect, label = "Switch tenant", className }: TenantSwitcherProps) {
  const all = useAllTenants(client);
  const tenants = all.data ?? [];
  const top = Math.min(...tenants.map((t) => t.depth));
  const options = [
    { value: "", label: all.data ? "Choose a tenant…" : "Loading tenants…", disabled: true },
    // Non-breaking spaces: a select collapses ordinary ones.
    ...tenants.map((t) => ({ value: t.id, label: `${"\u00a0\u00a0".repeat(t.depth - top)}${t.name}` })),
  ];
  return (
    <SelectField
      className={["stratum-switcher", className].filter(Boolean).join(" ")}
      label={label}
      value={selectedId ?? ""}
      options={options}
      onChange={(id) => {
        const tenant = tenants.find((t) => t.id === id);
        if (tenant) onSelect(tenant);
      }}
    />
  );
}
