/// <reference lib="dom" />
/**
 * The API keys limited to a tenant's subtree: create (the key is shown once), rotate, revoke.
 * The control plane has no rotate route, so rotating creates a key with the same name, scopes and
 * tenant, then revokes the old one: the new key is shown before the old one stops working.
 */
import { useContext, useState } from "react";
import type { ApiKeyRecord, ApiKeyScope, StratumOperatorClient } from "./client/operator-types.js";
import { Badge } from "./components/Badge.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { Loading } from "./components/Loading.js";
import { SecretOnce } from "./components/SecretOnce.js";
import { TextField } from "./components/TextField.js";
import { formatDate, StratumContext } from "./context.js";
import { useApiKeys } from "./hooks/use-api-keys.js";
import { useMutation } from "./hooks/use-mutation.js";

export interface ApiKeyManagerProps {
  client: StratumOperatorClient;
  tenantId: string;
  tenantName: string;
  className?: string;
}

const DEFAULT_SCOPES: ApiKeyScope[] = ["tenants:read", "config:read", "permissions:read"];

export function ApiKeyManager({ client, tenantId, tenantName, className }: ApiKeyManagerProps) {
  const keys = useApiKeys(client, tenantId);
  const locale = useContext(StratumContext)?.locale;
  const write = useMutation(client, ["keys"]);
  const [name, setName] = useState("");
  const [shown, setShown] = useState<{ label: string; key: string } | null>(null);

  const create = async () => {
    const created = await write.run(
      () => client.createApiKey({ name: name.trim(), scopes: DEFAULT_SCOPES, tenant_id: tenantId, environment: "test" }),
      (k) => `Created key ${k.name}.`,
    );
    if (created) {
      setName("");
      setShown({ label: `New key ${created.name}`, key: created.key });
    }
  };
  const rotate = async (old: ApiKeyRecord) => {
    const created = await write.run(async () => {
      const next = await client.createApiKey({ name: old.name, scopes: old.scopes as ApiKeyScope[], tenant_id: old.tenant_id, environment: "test" });
      await client.revokeApiKey(old.id);
      return next;
    }, `Rotated ${old.name}: the old key no longer works.`);
    if (created) setShown({ label: `Rotated key ${created.name}`, key: created.key });
  };
  const revoke = (k: ApiKeyRecord) => void write.run(() => client.revokeApiKey(k.id), `Revoked ${k.name}.`);

  return (
    <section className={["stratum-keys", className].filter(Boolean).join(" ")} aria-label={`API keys of ${tenantName}`}>
      {shown ? <SecretOnce label={shown.label} secret={shown.key} onDone={() => setShown(null)} /> : null}
      {write.error ? <ErrorMessage error={write.error} /> : null}
      {!keys.data ? (
        keys.error ? (
          <ErrorMessage error={keys.error} onRetry={() => void keys.reload()} />
        ) : (
          <Loading label="Loading API keys…" />
        )
      ) : keys.data.length === 0 ? (
        <p className="stratum-empty">No API keys are limited to {tenantName}.</p>
      ) : (
        <div className="stratum-table-wrap">
          <table className="stratum-table">
            <caption>{`API keys of ${tenantName}`}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id}>
                  <th scope="row">
                    {k.name} {k.revoked_at ? <Badge tone="danger">revoked</Badge> : <Badge tone="ok">active</Badge>}
                  </th>
                  <td className="stratum-scopes">{k.scopes.join(", ")}</td>
                  <td>
                    <time dateTime={k.created_at}>{formatDate(k.created_at, locale)}</time>
                  </td>
                  <td>{k.last_used_at ? <time dateTime={k.last_used_at}>{formatDate(k.last_used_at, locale)}</time> : "never"}</td>
                  <td className="stratum-actions">
                    {k.revoked_at ? null : (
                      <>
                        <button
                          type="button"
                          className="stratum-button"
                          disabled={write.pending}
                          aria-label={`Rotate ${k.name}`}
                          onClick={() => void rotate(k)}
                        >
                          Rotate
                        </button>
                        <button
                          type="button"
                          className="stratum-button stratum-button--danger"
                          disabled={write.pending}
                          aria-label={`Revoke ${k.name}`}
                          onClick={() => revoke(k)}
                        >
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form
        className="stratum-inline-form"
        aria-label="Create an API key"
        onSubmit={(event) => {
          event.preventDefault();
          void create();
        }}
      >
        <TextField
          label="New key name"
          value={name}
          onChange={setName}
          help={`Scopes: ${DEFAULT_SCOPES.join(", ")}; limited to ${tenantName} and below.`}
          maxLength={200}
        />
        <button type="submit" className="stratum-button stratum-button--primary" disabled={!name.trim() || write.pending}>
          Create key
        </button>
      </form>
    </section>
  );
}
