/**
 * The selected tenant's toolbar: create a child, rename, move, suspend/archive/restore, delete.
 * Destructive ones look destructive; each form opens in a modal dialog.
 */
import { useState } from "react";
import type { StratumOperatorClient } from "./client/operator-types.js";
import type { TenantRecord } from "./client/types.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { CreateTenantDialog } from "./CreateTenantDialog.js";
import { DeleteTenantDialog } from "./DeleteTenantDialog.js";
import { useMutation } from "./hooks/use-mutation.js";
import { MoveTenantDialog } from "./MoveTenantDialog.js";
import { RenameTenantDialog } from "./RenameTenantDialog.js";

export interface TenantActionsProps {
  client: StratumOperatorClient;
  tenant: TenantRecord;
  onCreated?(tenant: TenantRecord): void;
  onDeleted?(ids: string[]): void;
  className?: string;
}

type Open = "create" | "rename" | "move" | "delete" | null;

export function TenantActions({ client, tenant, onCreated, onDeleted, className }: TenantActionsProps) {
  const [open, setOpen] = useState<Open>(null);
  const status = useMutation(client, ["tenants", "overview", "config", "permissions"]);
  const close = () => setOpen(null);
  const setStatus = (verb: "suspend" | "archive" | "restore", done: string) =>
    void status.run(() => client.setTenantStatus(tenant.id, verb), `${tenant.name} ${done}.`);
  return (
    <div className={["stratum-toolbar", className].filter(Boolean).join(" ")} role="toolbar" aria-label={`Actions for ${tenant.name}`}>
      <button type="button" className="stratum-button stratum-button--primary" onClick={() => setOpen("create")}>
        New child
      </button>
      <button type="button" className="stratum-button" onClick={() => setOpen("rename")}>
        Rename
      </button>
      <button type="button" className="stratum-button" disabled={tenant.parent_id === null} onClick={() => setOpen("move")}>
        Move
      </button>
      {tenant.status === "active" ? (
        <>
          <button type="button" className="stratum-button" disabled={status.pending} onClick={() => setStatus("suspend", "suspended")}>
            Suspend
          </button>
          <button type="button" className="stratum-button" disabled={status.pending} onClick={() => setStatus("archive", "archived")}>
            Archive
          </button>
        </>
      ) : (
        <button type="button" className="stratum-button" disabled={status.pending} onClick={() => setStatus("restore", "restored")}>
          Restore
        </button>
      )}
      <button type="button" className="stratum-button stratum-button--danger" onClick={() => setOpen("delete")}>
        Delete…
      </button>
      {status.error ? <ErrorMessage error={status.error} /> : null}
      {open === "create" ? <CreateTenantDialog client={client} parent={tenant} onClose={close} {...(onCreated ? { onCreated } : {})} /> : null}
      {open === "rename" ? <RenameTenantDialog client={client} tenant={tenant} onClose={close} /> : null}
      {open === "move" ? <MoveTenantDialog client={client} tenant={tenant} onClose={close} /> : null}
      {open === "delete" ? <DeleteTenantDialog client={client} tenant={tenant} onClose={close} {...(onDeleted ? { onDeleted } : {})} /> : null}
    </div>
  );
}
