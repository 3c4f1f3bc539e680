/// <reference lib="dom" />
/**
 * Sets a key at the tenant. The server decides whether that is allowed: a key an ancestor locked
 * is refused with CONFIG_LOCKED, and its message (naming the locking tenant) is shown as is.
 */
import { useId, useState } from "react";
import type { StratumAdminClient } from "./client/types.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { JsonInput } from "./components/JsonInput.js";
import { KeyInput } from "./components/KeyInput.js";
import { useAction } from "./hooks/use-action.js";
import { parseJson } from "./json.js";

export interface ConfigAddFormProps {
  client: StratumAdminClient;
  tenantId: string;
  onAdded(): Promise<void>;
}

export function ConfigAddForm({ client, tenantId, onAdded }: ConfigAddFormProps) {
  const id = useId();
  const [key, setKey] = useState("");
  const [text, setText] = useState("");
  const [locked, setLocked] = useState(false);
  const [sensitive, setSensitive] = useState(false);
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
        const ok = await action.run(() => client.setConfig(tenantId, key.trim(), { value: parsed.value, locked, sensitive }));
        if (!ok) return;
        setKey("");
        setText("");
        setLocked(false);
        setSensitive(false);
        await onAdded();
      }}
    >
      <h3 id={`${id}-title`}>Set a key</h3>
      <KeyInput label="Key" value={key} onChange={setKey} />
      <JsonInput label="Value (JSON)" text={text} onChange={setText} disabled={action.pending} />
      <div className="stratum-field stratum-checkboxes">
        <label>
          <input type="checkbox" checked={locked} onChange={(event) => setLocked(event.target.checked)} /> Locked (descendants cannot override)
        </label>{" "}
        <label>
          <input type="checkbox" checked={sensitive} onChange={(event) => setSensitive(event.target.checked)} /> Sensitive (stored encrypted, never shown)
        </label>
      </div>
      <button type="submit" className="stratum-button" disabled={!ready}>
        {action.pending ? "Saving…" : "Set key"}
      </button>
      {action.error ? <ErrorMessage error={action.error} /> : null}
    </form>
  );
}
