/// <reference lib="dom" />
/**
 * Where a tenant's rows live (shared tables under RLS, its own schema, its own database), a form
 * to move it live, and its move journal. The move runs until done on the server, so the form
 * stays busy until the answer arrives with the row counts that were verified; meanwhile the
 * journal is read again every `JOURNAL_POLL_MS`, so the operator watches it step through
 * provisioned → copied → flipped → cleaned.
 */
import { useEffect, useState } from "react";
import type { StratumOperatorClient } from "./client/operator-types.js";
import type { TenantRecord } from "./client/types.js";
import { Badge } from "./components/Badge.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { Loading } from "./components/Loading.js";
import { SelectField } from "./components/SelectField.js";
import { useIsolation } from "./hooks/use-isolation.js";
import { useMutation } from "./hooks/use-mutation.js";

export interface IsolationPanelProps {
  client: StratumOperatorClient;
  tenantId: string;
  className?: string;
}

const JOURNAL_POLL_MS = 400;

/** A journal row's step as the operator reads it: finished, undone, or still under way. */
function stepTone(step: string): { tone: "ok" | "warn" | "info"; text: string } {
  if (step === "cleaned") return { tone: "ok", text: "done" };
  if (step === "rolled_back") return { tone: "warn", text: "rolled back" };
  return { tone: "info", text: "in progress" };
}

const STRATEGY_HELP: Record<TenantRecord["isolation_strategy"], string> = {
  SHARED_RLS: "Shared tables, separated by row-level security.",
  SCHEMA: "A PostgreSQL schema of its own in the main database.",
  DATABASE: "A database of its own on a configured server.",
};

export function IsolationPanel({ client, tenantId, className }: IsolationPanelProps) {
  const state = useIsolation(client, tenantId);
  const write = useMutation(client, ["isolation", "tenants", "overview"]);
  const [target, setTarget] = useState("");
  const { reload } = state;
  useEffect(() => {
    if (!write.pending) return;
    const timer = setInterval(() => void reload(), JOURNAL_POLL_MS);
    return () => clearInterval(timer);
  }, [write.pending, reload]);
  if (!state.data) return state.error ? <ErrorMessage error={state.error} onRetry={() => void state.reload()} /> : <Loading label="Loading isolation…" />;
  const { tenant, moves } = state.data;
  const options = [
    { value: "", label: "Choose a strategy…", disabled: true },
    ...(["SHARED_RLS", "SCHEMA"] as const).filter((s) => s !== tenant.isolation_strategy).map((s) => ({ value: s, label: s })),
  ];
  return (
    <section className={["stratum-isolation", className].filter(Boolean).join(" ")} aria-label={`Isolation of ${tenant.name}`}>
      <p>
        <Badge tone="info">{tenant.isolation_strategy}</Badge> <span>{STRATEGY_HELP[tenant.isolation_strategy]}</span>
      </p>
      <form
        className="stratum-inline-form"
        aria-label="Move to another strategy"
        onSubmit={(event) => {
          event.preventDefault();
          if (target)
            void write
              .run(
                () => client.setIsolation(tenantId, { strategy: target as "SCHEMA" }),
                (r) => `Moved to ${r.to.strategy}: ${Object.values(r.row_counts).reduce((a, b) => a + b, 0)} rows copied and verified.`,
              )
              .then(() => setTarget(""));
        }}
      >
        <SelectField label="Move to" value={target} options={options} onChange={setTarget} disabled={write.pending} />
        <button type="submit" className="stratum-button stratum-button--primary" disabled={!target || write.pending}>
          {write.pending ? "Moving… (copying rows)" : "Start move"}
        </button>
      </form>
      {write.error ? <ErrorMessage error={write.error} /> : null}
      <h3>Move journal</h3>
      {moves.length === 0 ? (
        <p className="stratum-empty">{tenant.name} has never moved.</p>
      ) : (
        <div className="stratum-table-wrap">
          <table className="stratum-table">
            <caption className="stratum-visually-hidden">{`Move journal of ${tenant.name}`}</caption>
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Step</th>
                <th scope="col">Rows</th>
              </tr>
            </thead>
            <tbody>
              {moves.map((m) => (
                <tr key={m.id}>
                  <td>{m.from_strategy}</td>
                  <td>{m.to_strategy}</td>
                  <td>
                    <code>{m.step}</code> <Badge tone={stepTone(m.step).tone}>{stepTone(m.step).text}</Badge>
                  </td>
                  <td>
                    {Object.entries(m.row_counts)
                      .map(([t, n]) => `${t}: ${n}`)
                      .join(", ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
