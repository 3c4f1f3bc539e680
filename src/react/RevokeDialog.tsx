/// <reference lib="dom" />
/**
 * The confirmation step before a revocation. Revoking can delete grants all over a subtree (or,
 * PERMANENT, forbid the key for good), so the user picks the mode and confirms it explicitly.
 */
import { useEffect, useId, useRef, useState } from "react";
import type { PermissionRecord, RevocationMode } from "./client/types.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import type { AdminError } from "./errors.js";
import { REVOCATION_HELP, REVOCATION_MODES } from "./permission-model.js";

export interface RevokeDialogProps {
  grant: PermissionRecord;
  tenantName: string;
  pending: boolean;
  error: AdminError | null;
  onConfirm(mode: RevocationMode): void;
  onCancel(): void;
}

export function RevokeDialog({ grant, tenantName, pending, error, onConfirm, onCancel }: RevokeDialogProps) {
  const id = useId();
  const [mode, setMode] = useState<RevocationMode>(grant.revocation_mode);
  const cancelRef = useRef<HTMLButtonElement>(null);

  // The safe choice has focus first: Enter right after opening must not revoke anything.
  useEffect(() => cancelRef.current?.focus(), []);

  return (
    <div
      role="alertdialog"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-desc`}
      className="stratum-confirm"
      onKeyDown={(event) => {
        if (event.key === "Escape") onCancel();
      }}
    >
      <h4 id={`${id}-title`}>{`Revoke ${grant.key} at ${tenantName}?`}</h4>
      <fieldset className="stratum-radios">
        <legend>Revocation mode</legend>
        {REVOCATION_MODES.map((m) => (
          <label key={m}>
            <input type="radio" name={`${id}-mode`} value={m} checked={mode === m} onChange={() => setMode(m)} disabled={pending} /> {m}
            {m === grant.revocation_mode ? " (the grant's own)" : ""}
          </label>
        ))}
      </fieldset>
      <p id={`${id}-desc`}>{`${mode}: ${REVOCATION_HELP[mode]}.`}</p>
      <button type="button" className="stratum-button stratum-button--danger" disabled={pending} onClick={() => onConfirm(mode)}>
        {pending ? "Revoking…" : `Confirm revoke (${mode})`}
      </button>{" "}
      <button type="button" ref={cancelRef} className="stratum-button" disabled={pending} onClick={onCancel}>
        Cancel
      </button>
      {error ? <ErrorMessage error={error} /> : null}
    </div>
  );
}
