/// <reference lib="dom" />
/**
 * The tenant hierarchy as a WAI-ARIA tree: one tab stop (roving tabindex), arrow keys move and
 * open/close, Home/End jump, Enter or Space selects. Children load when an item first opens.
 * With `onMove`, tenants move by drag and drop or by keyboard (Ctrl+X, go, Ctrl+V: tree-move.ts).
 */
import { Fragment, useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import type { StratumAdminClient, TenantRecord } from "./client/types.js";
import { ErrorMessage } from "./components/ErrorMessage.js";
import { Loading } from "./components/Loading.js";
import { useTenantTree } from "./hooks/use-tenant-tree.js";
import { TenantTreeItem } from "./TenantTreeItem.js";
import { useTreeMove, type TenantMoveHandler } from "./tree-move.js";
import { isExpandable, visibleItems } from "./tree-navigation.js";

export interface TenantTreeProps {
  client: StratumAdminClient;
  /** Show this tenant's subtree; default: every top-level tenant the key can see. */
  rootId?: string;
  selectedId?: string | null;
  onSelect?: (tenant: TenantRecord) => void;
  /**
   * Turns on moving by drag and by keyboard: called with the tenant and its new parent; resolve
   * when the move is done (and the "tenants" resource invalidated), reject when it was refused.
   */
  onMove?: TenantMoveHandler;
  /** Accessible name of the tree; default "Tenants". */
  label?: string;
  className?: string;
}

export function TenantTree({ client, rootId, selectedId = null, onSelect, onMove, label = "Tenants", className }: TenantTreeProps) {
  const tree = useTenantTree(client, rootId);
  const { tenants, nodes, expanded } = tree;
  const roots = tree.roots.data;
  const [focusedId, setFocusedId] = useState<string | null>(null);
  const elements = useRef(new Map<string, HTMLLIElement>());

  const visible = useMemo(() => visibleItems(roots ?? [], nodes, expanded), [roots, nodes, expanded]);
  const isVisible = (id: string | null) => id !== null && visible.some((v) => v.id === id);
  const tabStop = isVisible(focusedId) ? focusedId : isVisible(selectedId) ? selectedId : (visible[0]?.id ?? null);

  const register = useCallback((id: string, element: HTMLLIElement | null) => {
    if (element) elements.current.set(id, element);
    else elements.current.delete(id);
  }, []);

  const focus = (id: string | undefined) => {
    if (!id) return;
    setFocusedId(id);
    elements.current.get(id)?.focus();
  };

  const activate = (tenant: TenantRecord) => {
    focus(tenant.id);
    onSelect?.(tenant);
  };

  // After a move the item re-renders under its new parent (a new element): focus follows it there,
  // once the re-read tree shows it under that parent (not while the old position is still drawn).
  const refocus = useRef<{ id: string; parentId: string } | null>(null);
  const move = useTreeMove(tenants, onMove, (tenant, parent) => {
    refocus.current = { id: tenant.id, parentId: parent.id };
    tree.expand(parent.id);
  });
  useEffect(() => {
    const wanted = refocus.current;
    if (!wanted || !visible.some((v) => v.id === wanted.id && v.parentId === wanted.parentId)) return;
    refocus.current = null;
    focus(wanted.id);
  });

  const toggle = (id: string) => (expanded.has(id) ? tree.collapse(id) : tree.expand(id));

  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    const current = (event.target as HTMLElement).closest<HTMLElement>("[role=treeitem]")?.dataset["tenantId"];
    const index = visible.findIndex((v) => v.id === current);
    const item = visible[index];
    if (!current || !item) return;
    const node = nodes[current];
    const tenant = tenants[current];
    if (tenant && move.onKey(event, tenant)) {
      event.preventDefault();
      return;
    }
    switch (event.key) {
      case "ArrowDown":
        focus(visible[index + 1]?.id);
        break;
      case "ArrowUp":
        focus(visible[index - 1]?.id);
        break;
      case "ArrowRight":
        if (!isExpandable(node)) break;
        if (!expanded.has(current)) tree.expand(current);
        else focus(node?.children?.[0]);
        break;
      case "ArrowLeft":
        if (expanded.has(current) && isExpandable(node)) tree.collapse(current);
        else focus(item.parentId ?? undefined);
        break;
      case "Home":
        focus(visible[0]?.id);
        break;
      case "End":
        focus(visible[visible.length - 1]?.id);
        break;
      case "Enter":
      case " ": {
        const tenant = tenants[current];
        if (tenant) onSelect?.(tenant);
        break;
      }
      default:
        return;
    }
    // Arrow keys and Space would otherwise scroll the page.
    event.preventDefault();
  };

  // A flat list of the visible items, each with aria-level/posinset/setsize (a pattern WAI-ARIA
  // allows): nested groups would make every open branch's text include its children's names, so
  // its visible text would no longer match its accessible name (WCAG 2.5.3).
  const renderLevel = (ids: readonly string[], level: number): ReactNode =>
    ids.map((id, i) => {
      const tenant = tenants[id];
      if (!tenant) return null;
      const node = nodes[id];
      const open = expanded.has(id);
      return (
        <Fragment key={id}>
          <TenantTreeItem
            tenant={tenant}
            node={node}
            level={level}
            posinset={i + 1}
            setsize={ids.length}
            expanded={open}
            selected={id === selectedId}
            tabbable={id === tabStop}
            register={register}
            onActivate={activate}
            onToggle={toggle}
            onRetry={tree.reloadChildren}
            moving={id === move.movingId}
            dropTarget={id === move.dropTargetId}
            rowProps={move.rowProps(tenant)}
          />
          {open && node?.children?.length ? renderLevel(node.children, level + 1) : null}
        </Fragment>
      );
    });

  if (tree.roots.error && !roots) return <ErrorMessage error={tree.roots.error} onRetry={() => void tree.roots.reload()} />;
  if (!roots) return <Loading label="Loading tenants…" />;
  if (roots.length === 0) return <p className="stratum-empty">No tenants.</p>;

  return (
    <>
      <ul
        role="tree"
        aria-label={label}
        className={["stratum-tree", className].filter(Boolean).join(" ")}
        onKeyDown={onKeyDown}
        onFocus={(event) => {
          const id = (event.target as HTMLElement).dataset["tenantId"];
          if (id) setFocusedId(id);
        }}
      >
        {renderLevel(roots, 1)}
      </ul>
      {onMove ? (
        <p role="status" aria-live="polite" className="stratum-visually-hidden">
          {move.announcement}
        </p>
      ) : null}
    </>
  );
}
