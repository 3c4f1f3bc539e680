/**
 * Move a tenant and its subtree under another parent. Its own subtree is not offered (the server
 * would refuse a cycle anyway); the move re-parents config and permission inheritance.
 */
import { useState } from "react";
import type { StratumOperatorClient } from "./client/operator-types.js";
import type { TenantRecord } from "./client/types.js";
import { Dialog } from "./components/Dialog.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { SelectField } from "./components/SelectField.js";
import { useAllTenants } from "./hooks/use-all-tenants.js";
import { useMutation } from "./hooks/use-mutation.js";

export interface MoveTenantDialogProps {
  client: StratumOperatorClient;
  tenant: TenantRecord;
  onClose(): void;
}

export function MoveTenantDialog({ client, tenant, onClose }: MoveTenantDialogProps) {
  const all = useAllTenants(client);
  const [parentId, setParentId] = useState("");
  const write = useMutation(client, ["tenants", "config", "permissions", "overview"]);
  const targets = (all.data ?? []).filter((t) => !t.path.includes(tenant.id) && t.id !== tenant.parent_id);
  const options = [
    { value: "", label: all.data ? "Choose the new parent…" : "Loading tenants…", disabled: true },
    ...targets.map((t) => ({ value: t.id, label: `${"\u00a0\u00a0".repeat(t.depth)}${t.name}` })),
  ];
  const target = targets.find((t) => t.id === parentId);
  return (
    <Dialog title={`Move ${tenant.name}`} onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (target) void write.run(() => client.moveTenant(tenant.id, target.id), `Moved ${tenant.name} under ${target.name}.`).then((t) => t && onClose());
        }}
      >
        <SelectField label="New parent" value={parentId} options={options} onChange={setParentId} />
        <p className="stratum-help">The whole subtree moves with it and inherits config and permissions from the new parent.</p>
        {write.error ? <ErrorMessage error={write.error} /> : null}
        <div className="stratum-dialog-actions">
          <button type="button" className="stratum-button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="stratum-button stratum-button--primary" disabled={!target || write.pending}>
            Move tenant
          </button>
        </div>
      </form>
    </Dialog>
  );
}
