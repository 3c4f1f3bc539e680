/**
 * A tenant's resolved permissions with mode and source; grant new ones, revoke the tenant's own
 * (CASCADE, SOFT or PERMANENT) after a confirmation step. Every change is re-read from the
 * server, since a revocation can change what the whole subtree resolves.
 */
import { useContext, useEffect, useState } from "react";
import type { PermissionRecord, StratumAdminClient } from "./client/types.js";
import { tenantName } from "./chain.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { Loading } from "./components/Loading.js";
import { usePermissions } from "./hooks/use-permissions.js";
import { useRevoke } from "./hooks/use-revoke.js";
import { invalidate } from "./invalidation.js";
import { formatDate, StratumContext } from "./context.js";
import { grantsNotInEffect, permissionRows } from "./permission-model.js";
import { PermissionGrantForm } from "./PermissionGrantForm.js";
import { PermissionRow } from "./PermissionRow.js";
import { RevokeDialog } from "./RevokeDialog.js";

export interface PermissionEditorProps {
  client: StratumAdminClient;
  tenantId: string;
  className?: string;
}

export function PermissionEditor({ client, tenantId, className }: PermissionEditorProps) {
  const state = usePermissions(client, tenantId);
  const revoke = useRevoke(client, tenantId);
  const locale = useContext(StratumContext)?.locale;
  const [confirming, setConfirming] = useState<PermissionRecord | null>(null);
  const [notice, setNotice] = useState("");
  // A confirmation open for one tenant must not survive a switch to another.
  useEffect(() => {
    setConfirming(null);
    setNotice("");
  }, [tenantId]);
  const data = state.data;
  if (!data) return state.error ? <ErrorMessage error={state.error} onRetry={() => void state.reload()} /> : <Loading label="Loading permissions…" />;

  const name = tenantName(data.chain, tenantId);
  const rows = permissionRows(tenantId, data.resolved, data.grants, data.chain);
  const idle = grantsNotInEffect(data.resolved, data.grants, tenantId);

  const startRevoke = (grant: PermissionRecord) => {
    revoke.clearError();
    setNotice("");
    setConfirming(grant);
  };

  return (
    <section className={["stratum-permission-editor", className].filter(Boolean).join(" ")} aria-label={`Permissions of ${name}`} aria-busy={state.loading}>
      {state.error ? <ErrorMessage error={state.error} onRetry={() => void state.reload()} /> : null}
      <p role="status" className="stratum-notice">
        {notice}
      </p>
      {rows.length === 0 ? (
        <p className="stratum-empty">{`${name} holds no permissions.`}</p>
      ) : (
        <div className="stratum-table-wrap">
          <table className="stratum-table">
            <caption>{`Permissions of ${name}`}</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col">Mode</th>
                <th scope="col">Source</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <PermissionRow key={row.key} row={row} busy={confirming !== null || revoke.pending} onRevoke={startRevoke} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {confirming ? (
        <RevokeDialog
          grant={confirming}
          tenantName={name}
          pending={revoke.pending}
          error={revoke.error}
          onCancel={() => setConfirming(null)}
          onConfirm={async (mode) => {
            const result = await revoke.revoke(confirming, mode);
            if (!result) return;
            setConfirming(null);
            // Announced once the table shows the new state, so what is read out matches what is seen.
            // This table first (the notice below must describe what is on screen), then every other panel.
            await state.reload();
            invalidate(client, "permissions");
            setNotice(
              `Revoked ${result.key} (${result.revocation_mode}): ${result.removed} grant${result.removed === 1 ? "" : "s"} removed${result.tombstone ? ", tombstone left" : ""}.`,
            );
          }}
        />
      ) : null}
      {idle.length > 0 ? (
        <div className="stratum-idle-grants">
          <h3>Own grants not in effect</h3>
          <ul>
            {idle.map((g) => (
              <li key={g.id}>
                <code>{g.key}</code>
                {g.revoked_at ? (
                  <>
                    : permanently revoked here on <time dateTime={g.revoked_at}>{formatDate(g.revoked_at, locale)}</time>; it cannot be granted here or below
                    again
                  </>
                ) : (
                  `: outranked by a LOCKED grant at ${tenantName(data.chain, data.resolved[g.key]?.source_tenant_id ?? "")}`
                )}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <PermissionGrantForm
        client={client}
        tenantId={tenantId}
        onGranted={async (key) => {
          await state.reload();
          invalidate(client, "permissions");
          setNotice(`Granted ${key}.`);
        }}
      />
    </section>
  );
}
