/// <reference lib="dom" />
import type { HTMLAttributes } from "react";
import type { TenantRecord } from "./client/types.js";
import type { BadgeTone } from "./components/Badge.js";
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
  /** Picked up to move (Ctrl+X) or being dragged. */
  moving?: boolean;
  /** A drag is over this row and may drop here. */
  dropTarget?: boolean;
  /** Drag and drop handlers for the row (tree-move.ts). */
  rowProps?: HTMLAttributes<HTMLDivElement>;
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
      className={[
        "stratum-tree-item",
        selected && "stratum-tree-item--selected",
        props.moving && "stratum-tree-item--moving",
        props.dropTarget && "stratum-tree-item--drop",
      ]
        .filter(Boolean)
        .join(" ")}
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
      <div {...props.rowProps} className="stratum-tree-row" style={{ paddingLeft: `${(props.level - 1) * 1.25}em` }} onClick={() => props.onActivate(tenant)}>
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
        <span id={labelId} className="stratum-tree-name" title={tenant.name}>
          {tenant.name}
        </span>{" "}
        {/* The badges are the item's description (aria-describedby), not part of its name; drawn as
            generated content so the item's visible text is its name alone (WCAG 2.5.3). */}
        <span id={badgesId} className="stratum-tree-badges">
          <span className="stratum-visually-hidden">{`${tenant.status}, ${ISOLATION_LABEL[tenant.isolation_strategy]}`}</span>
          {/* Drawn only when not the usual (active, shared): a column of identical pills would crowd out the names. */}
          {tenant.status !== "active" ? (
            <span aria-hidden="true" className={`stratum-badge stratum-badge--${STATUS_TONE[tenant.status]}`} data-badge={tenant.status} />
          ) : null}
          {tenant.isolation_strategy !== "SHARED_RLS" ? (
            <span aria-hidden="true" className="stratum-badge stratum-badge--info" data-badge={ISOLATION_LABEL[tenant.isolation_strategy]} />
          ) : null}
        </span>
      </div>
      {/* Only a first load shows its row: a re-read after a write keeps the children on screen
          (aria-busy says it), instead of flashing "Loading…" under every open branch. */}
      {expanded && ((node?.loading && node.children === undefined) || node?.error) ? (
        <div className="stratum-tree-status" style={{ paddingLeft: `${props.level * 1.25}em` }}>
          {node.loading && node.children === undefined ? <span role="status">Loading {tenant.name}…</span> : null}
          {node.error ? <ErrorMessage error={node.error} onRetry={() => props.onRetry(tenant.id)} /> : null}
        </div>
      ) : null}
    </li>
  );
}
