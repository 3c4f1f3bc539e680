/// <reference lib="dom" />
import type { ReactNode } from "react";
import type { TenantRecord } from "./client/types.js";
import { Badge, type BadgeTone } from "./components/Badge.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import type { TreeNodeState } from "./hooks/use-tenant-tree.js";
import { isExpandable } from "./tree-navigation.js";

const STATUS_TONE: Record<TenantRecord["status"], BadgeTone> = { active: "ok", suspended: "warn", archived: "neutral" };
const ISOLATION_LABEL: Record<TenantRecord["isolation_strategy"], string> = { SHARED_RLS: "shared RLS", SCHEMA: "schema", DATABASE: "database" };

export interface TenantTreeItemProps {
  tenant: TenantRecord;
  node: TreeNodeState | undefined;
  level: number;
  posinset: number;
  setsize: number;
  expanded: boolean;
  selected: boolean;
  /** The one item in the tab order (roving tabindex). */
  tabbable: boolean;
  register(id: string, element: HTMLLIElement | null): void;
  onActivate(tenant: TenantRecord): void;
  onToggle(id: string): void;
  onRetry(id: string): void;
  /** The rendered child items, when open. */
  children?: ReactNode;
}

export function TenantTreeItem(props: TenantTreeItemProps) {
  const { tenant, node, expanded, selected, tabbable } = props;
  const expandable = isExpandable(node);
  const labelId = `stratum-tree-${tenant.id}-label`;
  const badgesId = `stratum-tree-${tenant.id}-badges`;
  return (
    <li
      role="treeitem"
      ref={(element) => props.register(tenant.id, element)}
      data-tenant-id={tenant.id}
      className={`stratum-tree-item${selected ? " stratum-tree-item--selected" : ""}`}
      aria-labelledby={labelId}
      aria-describedby={badgesId}
      aria-level={props.level}
      aria-posinset={props.posinset}
      aria-setsize={props.setsize}
      aria-selected={selected}
      // A leaf has no aria-expanded at all: "false" would announce a branch that cannot open.
      aria-expanded={expandable ? expanded : undefined}
      aria-busy={node?.loading ? true : undefined}
      tabIndex={tabbable ? 0 : -1}
    >
      <div className="stratum-tree-row" style={{ paddingLeft: `${(props.level - 1) * 1.25}em` }} onClick={() => props.onActivate(tenant)}>
        <span
          aria-hidden="true"
          className="stratum-tree-toggle"
          onClick={(event) => {
            // Opening a branch with the mouse is not a selection.
            event.stopPropagation();
            if (expandable) props.onToggle(tenant.id);
          }}
        >
          {expandable ? (expanded ? "▾" : "▸") : ""}
        </span>{" "}
        <span id={labelId} className="stratum-tree-name">
          {tenant.name}
        </span>{" "}
        <span id={badgesId} className="stratum-tree-badges">
          <Badge tone={STATUS_TONE[tenant.status]}>{tenant.status}</Badge> <Badge tone="info">{ISOLATION_LABEL[tenant.isolation_strategy]}</Badge>
        </span>
      </div>
      {expanded && (node?.loading || node?.error) ? (
        <div className="stratum-tree-status" style={{ paddingLeft: `${props.level * 1.25}em` }}>
          {node.loading ? <span role="status">Loading {tenant.name}…</span> : null}
          {node.error ? <ErrorMessage error={node.error} onRetry={() => props.onRetry(tenant.id)} /> : null}
        </div>
      ) : null}
      {props.children}
    </li>
  );
}
