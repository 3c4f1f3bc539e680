/** Rename a tenant (its slug, parent and isolation have their own operations). */
import { useState } from "react";
import type { StratumOperatorClient } from "./client/operator-types.js";
import type { TenantRecord } from "./client/types.js";
import { Dialog } from "./components/Dialog.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { TextField } from "./components/TextField.js";
import { useMutation } from "./hooks/use-mutation.js";

export interface RenameTenantDialogProps {
  client: StratumOperatorClient;
  tenant: TenantRecord;
  onClose(): void;
}

export function RenameTenantDialog({ client, tenant, onClose }: RenameTenantDialogProps) {
  const [name, setName] = useState(tenant.name);
  const write = useMutation(client, ["tenants", "overview"]);
  return (
    <Dialog title={`Rename ${tenant.name}`} onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void write
            .run(
              () => client.updateTenant(tenant.id, { name: name.trim() }),
              (t) => `Renamed to ${t.name}.`,
            )
            .then((t) => t && onClose());
        }}
      >
        <TextField label="New name" value={name} onChange={setName} required maxLength={200} />
        {write.error ? <ErrorMessage error={write.error} /> : null}
        <div className="stratum-dialog-actions">
          <button type="button" className="stratum-button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="stratum-button stratum-button--primary" disabled={!name.trim() || name.trim() === tenant.name || write.pending}>
            Rename
          </button>
        </div>
      </form>
    </Dialog>
  );
}
