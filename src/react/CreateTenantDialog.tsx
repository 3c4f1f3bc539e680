/** Create a child tenant under `parent`: name, optional slug, isolation strategy. */
import { useState } from "react";
import type { StratumOperatorClient } from "./client/operator-types.js";
import type { TenantRecord } from "./client/types.js";
import { Dialog } from "./components/Dialog.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { SelectField } from "./components/SelectField.js";
import { TextField } from "./components/TextField.js";
import { useMutation } from "./hooks/use-mutation.js";

const STRATEGIES = [
  { value: "SHARED_RLS", label: "Shared tables (RLS)" },
  { value: "SCHEMA", label: "Own schema" },
] as const;

export interface CreateTenantDialogProps {
  client: StratumOperatorClient;
  parent: TenantRecord;
  onClose(): void;
  onCreated?(tenant: TenantRecord): void;
}

export function CreateTenantDialog({ client, parent, onClose, onCreated }: CreateTenantDialogProps) {
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [strategy, setStrategy] = useState<string>("SHARED_RLS");
  const write = useMutation(client, ["tenants", "overview"]);
  const submit = async () => {
    const created = await write.run(
      () =>
        client.createTenant({
          name: name.trim(),
          parent_id: parent.id,
          isolation_strategy: strategy as "SHARED_RLS",
          ...(slug.trim() ? { slug: slug.trim() } : {}),
        }),
      (t) => `Created ${t.name} under ${parent.name}.`,
    );
    if (!created) return;
    onCreated?.(created);
    onClose();
  };
  return (
    <Dialog title={`New tenant under ${parent.name}`} onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <TextField label="Name" value={name} onChange={setName} required maxLength={200} />
        <TextField
          label="Slug (optional)"
          value={slug}
          onChange={setSlug}
          help="Lowercase letters, digits and _; derived from the name when empty."
          maxLength={63}
        />
        <SelectField label="Isolation" value={strategy} options={STRATEGIES} onChange={setStrategy} />
        {write.error ? <ErrorMessage error={write.error} /> : null}
        <div className="stratum-dialog-actions">
          <button type="button" className="stratum-button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="stratum-button stratum-button--primary" disabled={!name.trim() || write.pending}>
            {write.pending ? "Creating…" : "Create tenant"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
