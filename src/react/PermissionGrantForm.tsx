/// <reference lib="dom" />
/**
 * Grants a permission at the tenant. Whether that is allowed (a LOCKED grant above, an INHERITED
 * key that cannot be re-granted, a PERMANENT tombstone) is the server's call; its answer is shown.
 */
import { useId, useState } from "react";
import type { PermissionMode, RevocationMode, StratumAdminClient } from "./client/types.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { JsonInput } from "./components/JsonInput.js";
import { KeyInput } from "./components/KeyInput.js";
import { useAction } from "./hooks/use-action.js";
import { parseJson } from "./json.js";
import { MODE_HELP, PERMISSION_MODES, REVOCATION_HELP, REVOCATION_MODES } from "./permission-model.js";

export interface PermissionGrantFormProps {
  client: StratumAdminClient;
  tenantId: string;
  onGranted(key: string): Promise<void>;
}

export function PermissionGrantForm({ client, tenantId, onGranted }: PermissionGrantFormProps) {
  const id = useId();
  const [key, setKey] = useState("");
  const [text, setText] = useState("true");
  const [mode, setMode] = useState<PermissionMode>("INHERITED");
  const [revocation, setRevocation] = useState<RevocationMode>("CASCADE");
  const action = useAction();
  const parsed = parseJson(text);
  const ready = key.trim() !== "" && parsed.ok && !action.pending;

  return (
    <form
      className="stratum-form"
      aria-labelledby={`${id}-title`}
      onSubmit={async (event) => {
        event.preventDefault();
        if (!ready || !parsed.ok) return;
        const granted = key.trim();
        const ok = await action.run(() => client.createPermission(tenantId, { key: granted, value: parsed.value, mode, revocation_mode: revocation }));
        if (!ok) return;
        setKey("");
        setText("true");
        await onGranted(granted);
      }}
    >
      <h3 id={`${id}-title`}>Grant a permission</h3>
      <KeyInput label="Permission key" value={key} onChange={setKey} />
      <JsonInput label="Permission value (JSON)" text={text} onChange={setText} disabled={action.pending} />
      <div className="stratum-field">
        <label htmlFor={`${id}-mode`}>Mode</label>
        <select id={`${id}-mode`} value={mode} onChange={(event) => setMode(event.target.value as PermissionMode)} aria-describedby={`${id}-mode-help`}>
          {PERMISSION_MODES.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        <span id={`${id}-mode-help`} className="stratum-help">
          {MODE_HELP[mode]}
        </span>
      </div>
      <div className="stratum-field">
        <label htmlFor={`${id}-revocation`}>Revocation mode</label>
        <select
          id={`${id}-revocation`}
          value={revocation}
          onChange={(event) => setRevocation(event.target.value as RevocationMode)}
          aria-describedby={`${id}-revocation-help`}
        >
          {REVOCATION_MODES.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        <span id={`${id}-revocation-help`} className="stratum-help">
          {REVOCATION_HELP[revocation]}
        </span>
      </div>
      <button type="submit" className="stratum-button" disabled={!ready}>
        {action.pending ? "Granting…" : "Grant"}
      </button>
      {action.error ? <ErrorMessage error={action.error} /> : null}
    </form>
  );
}
