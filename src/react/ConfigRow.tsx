/**
 * One key of a tenant's config. Own values can be edited, locked/unlocked and deleted; inherited
 * ones overridden; values an ancestor locked are read-only and name the locking tenant. Every
 * write is confirmed by the server, then the table re-reads: where a value resolves from is the
 * server's decision, so guessing it here would show wrong sources.
 */
import { useState } from "react";
import type { JsonValue, StratumAdminClient } from "./client/types.js";
import { Badge } from "./components/Badge.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { JsonInput } from "./components/JsonInput.js";
import type { ConfigRowModel } from "./config-model.js";
import { useAction } from "./hooks/use-action.js";
import { editableJson, parseJson, showJson } from "./json.js";

export interface ConfigRowProps {
  client: StratumAdminClient;
  tenantId: string;
  row: ConfigRowModel;
  onChanged(): Promise<void>;
}

export function ConfigRow({ client, tenantId, row, onChanged }: ConfigRowProps) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState("");
  const action = useAction();
  const parsed = parseJson(text);

  const write = async (run: () => Promise<unknown>) => {
    if (await action.run(run)) {
      setEditing(false);
      await onChanged();
    }
  };

  const startEdit = () => {
    // A redacted value cannot be shown, so it is replaced rather than edited.
    setText(row.redacted ? "" : editableJson(row.value));
    action.clearError();
    setEditing(true);
  };

  const save = () => {
    if (!parsed.ok) return;
    // Omitted `locked`/`sensitive` keep the stored flags of an own row; a new override starts unlocked.
    void write(() => client.setConfig(tenantId, row.key, { value: parsed.value }));
  };

  return (
    <tr className={`stratum-config-row${row.lockedAbove ? " stratum-config-row--locked" : ""}`}>
      <th scope="row">
        <code>{row.key}</code>
      </th>
      <td>
        {editing ? (
          <form
            className="stratum-inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              save();
            }}
            onKeyDown={(event) => {
              if (event.key === "Escape") setEditing(false);
            }}
          >
            <JsonInput
              label={`Value of ${row.key}`}
              text={text}
              onChange={setText}
              disabled={action.pending}
              autoFocus
              placeholder={row.redacted ? "new secret value (JSON)" : undefined}
            />
            <button type="submit" className="stratum-button" disabled={!parsed.ok || action.pending}>
              Save
            </button>{" "}
            <button type="button" className="stratum-button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </form>
        ) : row.redacted ? (
          <span className="stratum-redacted" title="Sensitive: the server never sends this value">
            •••••• (sensitive, hidden)
          </span>
        ) : (
          <code className="stratum-value">{showJson(row.value)}</code>
        )}
        {action.error ? <ErrorMessage error={action.error} /> : null}
      </td>
      <td>{row.isOwn ? "Own value" : `Inherited from ${row.sourceName}`}</td>
      <td>
        {row.lockedAbove ? <Badge tone="danger">{`Locked by ${row.sourceName}`}</Badge> : row.locked ? <Badge tone="warn">Locked for descendants</Badge> : null}
        {row.sensitive ? (
          <>
            {" "}
            <Badge tone="info">sensitive</Badge>
          </>
        ) : null}
      </td>
      <td className="stratum-actions">
        {row.lockedAbove ? (
          <>
            <span className="stratum-readonly">{`Read-only: locked by ${row.sourceName}`}</span>
            {row.own ? (
              <>
                {" "}
                <button
                  type="button"
                  className="stratum-button"
                  disabled={action.pending}
                  aria-label={`Delete own value of ${row.key}`}
                  onClick={() => void write(() => client.deleteConfig(tenantId, row.key))}
                >
                  Delete own value
                </button>
              </>
            ) : null}
          </>
        ) : editing ? null : row.isOwn ? (
          <>
            <button type="button" className="stratum-button" aria-label={`Edit ${row.key}`} disabled={action.pending} onClick={startEdit}>
              {row.redacted ? "Replace" : "Edit"}
            </button>{" "}
            <button
              type="button"
              className="stratum-button"
              aria-label={`${row.locked ? "Unlock" : "Lock"} ${row.key}`}
              aria-pressed={row.locked}
              // Locking re-sends the value (it came from the server as JSON); a redacted one is unknown here and would be overwritten.
              disabled={action.pending || row.redacted}
              onClick={() => void write(() => client.setConfig(tenantId, row.key, { value: row.value as JsonValue, locked: !row.locked }))}
            >
              {row.locked ? "Unlock" : "Lock"}
            </button>{" "}
            <button
              type="button"
              className="stratum-button"
              aria-label={`Delete override of ${row.key}`}
              disabled={action.pending}
              onClick={() => void write(() => client.deleteConfig(tenantId, row.key))}
            >
              Delete
            </button>
          </>
        ) : (
          <button type="button" className="stratum-button" aria-label={`Override ${row.key}`} disabled={action.pending} onClick={startEdit}>
            Override
          </button>
        )}
      </td>
    </tr>
  );
}
