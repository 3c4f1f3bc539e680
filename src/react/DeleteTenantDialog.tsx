/**
 * Delete a tenant for good. The operator types the tenant's slug to confirm: a misclick must not
 * remove a client's data. With "and its subtree" the whole branch goes.
 */
import { useState } from "react";
import type { StratumOperatorClient } from "./client/operator-types.js";
import type { TenantRecord } from "./client/types.js";
import { Dialog } from "./components/Dialog.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { TextField } from "./components/TextField.js";
import { useMutation } from "./hooks/use-mutation.js";

export interface DeleteTenantDialogProps {
  client: StratumOperatorClient;
  tenant: TenantRecord;
  onClose(): void;
  onDeleted?(ids: string[]): void;
}

export function DeleteTenantDialog({ client, tenant, onClose, onDeleted }: DeleteTenantDialogProps) {
  const [typed, setTyped] = useState("");
  const [cascade, setCascade] = useState(false);
  const write = useMutation(client, ["tenants", "overview", "keys", "webhooks"]);
  const confirmed = typed === tenant.slug;
  const submit = async () => {
    const result = await write.run(
      () => client.deleteTenant(tenant.id, { cascade }),
      (r) => `Deleted ${tenant.name}${r.deleted.length > 1 ? ` and ${r.deleted.length - 1} descendants` : ""}.`,
    );
    if (!result) return;
    onDeleted?.(result.deleted);
    onClose();
  };
  return (
    <Dialog title={`Delete ${tenant.name}?`} role="alertdialog" onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (confirmed) void submit();
        }}
      >
        <p>This removes the tenant, its data, config, grants, keys and webhooks. It cannot be undone; archive it instead to keep its data.</p>
        <TextField label={`Type ${tenant.slug} to confirm`} value={typed} onChange={setTyped} spellCheck={false} data-autofocus />
        <label className="stratum-check">
          <input type="checkbox" checked={cascade} onChange={(event) => setCascade(event.target.checked)} /> Also delete its whole subtree
        </label>
        {write.error ? <ErrorMessage error={write.error} /> : null}
        <div className="stratum-dialog-actions">
          <button type="button" className="stratum-button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="stratum-button stratum-button--danger" disabled={!confirmed || write.pending}>
            {write.pending ? "Deleting…" : "Delete tenant"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
