/**
 * For each key, the chain root → tenant: where the value is set, overridden, inherited, or
 * blocked by a lock, and which tenant the server says the value finally comes from.
 */
import type { StratumAdminClient } from "./client/types.js";
import { tenantName } from "./chain.js";
import { Badge } from "./components/Badge.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { Loading } from "./components/Loading.js";
import { useInheritance } from "./hooks/use-inheritance.js";
import { chainKeys, inheritanceSteps, type InheritanceStep } from "./inheritance.js";
import { showJson } from "./json.js";

export interface InheritanceViewProps {
  client: StratumAdminClient;
  tenantId: string;
  className?: string;
}

function valueText(step: InheritanceStep): string {
  if (!step.own) return "";
  return step.own.redacted ? "(sensitive, hidden)" : showJson(step.own.value);
}

function describe(step: InheritanceStep): string {
  const value = valueText(step);
  switch (step.kind) {
    case "sets":
      return `sets ${value}`;
    case "overrides":
      return `overrides with ${value}`;
    case "blocked":
      return `${value} blocked by the lock at ${step.lockedBy?.name ?? "an ancestor"}`;
    case "inherits":
      return step.lockedBy ? `inherits (locked by ${step.lockedBy.name})` : "inherits";
    case "unset":
      return "not set";
    case "archived":
      return value ? `${value} ignored: tenant archived` : "archived: ignored";
  }
}

export function InheritanceView({ client, tenantId, className }: InheritanceViewProps) {
  const state = useInheritance(client, tenantId);
  const data = state.data;
  if (!data) return state.error ? <ErrorMessage error={state.error} onRetry={() => void state.reload()} /> : <Loading label="Loading inheritance…" />;

  const name = tenantName(data.chain, tenantId);
  const keys = chainKeys(data.ownByTenant, data.resolved);
  return (
    <section className={["stratum-inheritance", className].filter(Boolean).join(" ")} aria-label={`Config inheritance of ${name}`} aria-busy={state.loading}>
      {state.error ? <ErrorMessage error={state.error} onRetry={() => void state.reload()} /> : null}
      {keys.length === 0 ? <p className="stratum-empty">No config on the chain of {name}.</p> : null}
      {keys.map((key) => {
        const resolved = data.resolved[key];
        const steps = inheritanceSteps(key, data.chain, data.ownByTenant, data.resolved);
        return (
          <section key={key} className="stratum-inheritance-key" aria-label={`Inheritance of ${key}`}>
            <h3>
              <code>{key}</code>
            </h3>
            <p className="stratum-inheritance-result">
              {resolved
                ? `${name} gets ${resolved.redacted ? "(sensitive, hidden)" : showJson(resolved.value)} from ${tenantName(data.chain, resolved.source_tenant_id)}${resolved.locked ? " (locked)" : ""}`
                : `${name} gets no value`}
            </p>
            <ol className="stratum-chain" aria-label={`Chain of ${key}, root first`}>
              {steps.map((step) => (
                <li
                  key={step.tenant.id}
                  className={`stratum-chain-step stratum-chain-step--${step.kind}`}
                  aria-current={step.tenant.id === tenantId ? "true" : undefined}
                >
                  <span className="stratum-chain-tenant">{step.tenant.name}</span>: <span className="stratum-chain-what">{describe(step)}</span>
                  {step.locks ? (
                    <>
                      {" "}
                      <Badge tone="warn">locks</Badge>
                    </>
                  ) : null}
                  {step.effective ? (
                    <>
                      {" "}
                      <Badge tone="ok">effective</Badge>
                    </>
                  ) : null}
                </li>
              ))}
            </ol>
          </section>
        );
      })}
    </section>
  );
}
