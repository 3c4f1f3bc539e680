/// <reference lib="dom" />
/**
 * The tenant tree beside the tenant page, with moving turned on: drag a tenant onto its new
 * parent, or Ctrl+X / Ctrl+V by keyboard. The move is a mutation like any other (toast, every
 * panel showing tenants re-reads), so the tree, the breadcrumb and the overview follow at once.
 */
import { TenantTree, useMutation, type StratumOperatorClient, type TenantRecord } from "../../../src/react/index.js";

export interface TreePaneProps {
  client: StratumOperatorClient;
  selectedId: string | null;
  onSelect(tenant: TenantRecord): void;
}

export function TreePane({ client, selectedId, onSelect }: TreePaneProps) {
  const move = useMutation(client, ["tenants", "config", "permissions", "overview"]);
  const onMove = async (tenant: TenantRecord, parent: TenantRecord) => {
    const moved = await move.run(() => client.moveTenant(tenant.id, parent.id), `Moved ${tenant.name} under ${parent.name}.`);
    if (!moved) throw new Error(`${tenant.name} was not moved.`);
  };
  return (
    <aside className="console-tree" aria-label="Tenant hierarchy">
      <h2 className="console-section-title">Tenants</h2>
      <TenantTree client={client} selectedId={selectedId} onSelect={onSelect} onMove={onMove} label="Tenant hierarchy" />
      {move.error ? (
        <p role="alert" className="stratum-error">
          <code className="stratum-error-code">{move.error.code}</code> {move.error.message}
        </p>
      ) : null}
      <p className="console-tree-help" id="tree-move-help">
        Move a tenant: drag it onto its new parent, or press <kbd>Ctrl</kbd>+<kbd>X</kbd> on it, go to the new parent and press <kbd>Ctrl</kbd>+<kbd>V</kbd>.
      </p>
    </aside>
  );
}
