/// <reference lib="dom" />
/**
 * The audit trail of a tenant and its subtree, newest first: filter by action (exact or a
 * `prefix.*`) and actor. Older pages load as the end of the table scrolls into view (an
 * IntersectionObserver on a marker after it); the "Load older entries" button stays, so keyboard
 * and screen-reader users, who do not scroll to load, reach the older pages too.
 */
import { useContext, useEffect, useRef, useState, type ReactNode } from "react";
import type { AuditEntryRecord, StratumOperatorClient } from "./client/operator-types.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { Loading } from "./components/Loading.js";
import { TextField } from "./components/TextField.js";
import { formatDate, StratumContext } from "./context.js";
import { useAllTenants } from "./hooks/use-all-tenants.js";
import { useAudit } from "./hooks/use-audit.js";

export interface AuditLogProps {
  client: StratumOperatorClient;
  tenantId: string;
  tenantName: string;
  /** Names for tenant ids in the entries (e.g. from the tree); ids are shown otherwise. */
  nameOf?: (tenantId: string) => string | undefined;
  /** Entries per page (1..500); default 25. */
  pageSize?: number;
  className?: string;
}

/** What an audited record was, briefly: a config value, a tenant or key name, else its JSON. */
function show(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "object" && "value" in v) return JSON.stringify((v as { value: unknown }).value);
  if (typeof v === "object" && "name" in v) return String((v as { name: unknown }).name);
  return JSON.stringify(v);
}

/** `model.tickets.insert` may wrap after its dots (and only there): the column stays narrow on a tablet. */
function dotted(action: string): ReactNode {
  const [head, ...rest] = action.split(".");
  // Keyed by the action up to each dot: unique within one action, stable across renders.
  let upTo = head ?? "";
  return [
    head,
    ...rest.map((part) => {
      upTo = `${upTo}.${part}`;
      return [<wbr key={upTo} />, `.${part}`];
    }),
  ];
}

/** "500 → 50" style summary of what changed. */
function change(entry: AuditEntryRecord): string {
  if (entry.before === null && entry.after === null) return "";
  const text = `${show(entry.before)} → ${show(entry.after)}`;
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

export function AuditLog({ client, tenantId, tenantName, nameOf, pageSize, className }: AuditLogProps) {
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const audit = useAudit(client, tenantId, { action: action.trim(), actor: actor.trim() }, pageSize);
  const locale = useContext(StratumContext)?.locale;
  // Entries name tenants by id; the tenants the caller can see give them their names.
  const all = useAllTenants(client);
  const end = useRef<HTMLDivElement>(null);
  const { hasMore, loadingMore, loadMore } = audit;
  useEffect(() => {
    const marker = end.current;
    if (!marker || !hasMore || loadingMore || typeof IntersectionObserver === "undefined") return;
    // Re-armed after each page: if the marker is still in view (a short page), the next one loads too.
    const observer = new IntersectionObserver(
      (seen) => {
        if (seen.some((e) => e.isIntersecting)) void loadMore();
      },
      { rootMargin: "200px 0px" },
    );
    observer.observe(marker);
    return () => observer.disconnect();
  }, [hasMore, loadingMore, loadMore]);
  const name = (tenantId: string) => nameOf?.(tenantId) ?? all.data?.find((t) => t.id === tenantId)?.name ?? tenantId;
  return (
    <section className={["stratum-audit", className].filter(Boolean).join(" ")} aria-label={`Audit log of ${tenantName}`}>
      <div className="stratum-filters">
        <TextField label="Action" value={action} onChange={setAction} placeholder="config.* or tenant.created" />
        <TextField label="Actor" value={actor} onChange={setActor} placeholder="api_key:<id>" />
      </div>
      {audit.error ? <ErrorMessage error={audit.error} onRetry={() => void audit.reload()} /> : null}
      {!audit.entries ? (
        <Loading label="Loading audit entries…" />
      ) : audit.entries.length === 0 ? (
        <p className="stratum-empty">No audit entries match.</p>
      ) : (
        <div className="stratum-table-wrap">
          <table className="stratum-table stratum-audit-table">
            <caption>{`Audit log of ${tenantName}, newest first`}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Tenant</th>
                <th scope="col">Target</th>
                <th scope="col">Change</th>
                <th scope="col">Actor</th>
              </tr>
            </thead>
            <tbody>
              {audit.entries.map((e) => (
                <tr key={e.id}>
                  <td>
                    <time dateTime={e.created_at}>{formatDate(e.created_at, locale)}</time>
                  </td>
                  <th scope="row">
                    <code>{dotted(e.action)}</code>
                  </th>
                  <td>{e.tenant_id ? name(e.tenant_id) : "—"}</td>
                  <td>{e.target_type ?? ""}</td>
                  <td className="stratum-change">{change(e)}</td>
                  <td className="stratum-actor">{e.actor.type}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div ref={end} className="stratum-audit-end">
        {hasMore ? (
          // Not disabled while loading: a disabled button would drop the keyboard user's focus.
          <button type="button" className="stratum-button" aria-busy={loadingMore || undefined} onClick={() => void loadMore()}>
            {loadingMore ? "Loading older entries…" : "Load older entries"}
          </button>
        ) : audit.entries && audit.entries.length > 0 ? (
          <p className="stratum-empty">{`All ${audit.entries.length} entries shown.`}</p>
        ) : null}
      </div>
    </section>
  );
}
