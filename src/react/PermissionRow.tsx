/** One resolved permission: its value, mode and source; the tenant's own grant can be revoked. */
import type { PermissionRecord } from "./client/types.js";
import { Badge } from "./components/Badge.js";
import { showJson } from "./json.js";
import type { PermissionRowModel } from "./permission-model.js";

export interface PermissionRowProps {
  row: PermissionRowModel;
  /** Revoking is in progress (or being confirmed) for some key: one at a time. */
  busy: boolean;
  onRevoke(grant: PermissionRecord): void;
}

export function PermissionRow({ row, busy, onRevoke }: PermissionRowProps) {
  const grant = row.grant;
  return (
    <tr className="stratum-permission-row">
      <th scope="row">
        <code>{row.key}</code>
      </th>
      <td>
        <code className="stratum-value">{showJson(row.value)}</code>
      </td>
      <td>
        <Badge tone={row.mode === "LOCKED" ? "danger" : row.mode === "DELEGATED" ? "info" : "neutral"}>{row.mode}</Badge>
        {row.delegated && row.mode !== "DELEGATED" ? (
          <>
            {" "}
            <Badge tone="info">re-granted</Badge>
          </>
        ) : null}
      </td>
      <td>{row.isOwn ? "Own grant" : `Inherited from ${row.sourceName}`}</td>
      <td className="stratum-actions">
        {row.isOwn && grant ? (
          <>
            <span className="stratum-help">{`revocation: ${grant.revocation_mode}`}</span>{" "}
            <button type="button" className="stratum-button" aria-label={`Revoke ${row.key}`} disabled={busy} onClick={() => onRevoke(grant)}>
              Revoke
            </button>
          </>
        ) : row.locked ? (
          <span className="stratum-readonly">{`Read-only: locked by ${row.sourceName}`}</span>
        ) : (
          <span className="stratum-help">{row.delegated ? "may be re-granted here" : "may be overridden here (INHERITED)"}</span>
        )}
      </td>
    </tr>
  );
}
