/// <reference lib="dom" />
/**
 * Moving a tenant inside the tree, by keyboard and by drag. WAI-ARIA's tree pattern has no move
 * keys, so these follow the file managers operators know:
 *
 *   Ctrl+X (⌘X on macOS)  pick up the focused tenant (its subtree comes along)
 *   arrow keys            go to the new parent (opening branches as usual)
 *   Ctrl+V (⌘V)           drop it under the focused tenant
 *   Escape                put it back down without moving
 *
 * Each step is announced in a polite live region. A drag does the same with the mouse: drop a
 * row onto its new parent's row. A tenant never goes under itself, its own subtree, or the parent
 * it already has (the server would refuse the first two anyway).
 */
import { useState, type DragEvent, type HTMLAttributes, type KeyboardEvent } from "react";
import type { TenantRecord } from "./client/types.js";

/** Answers once the move is done (the caller invalidates and reports); rejects when refused. */
export type TenantMoveHandler = (tenant: TenantRecord, newParent: TenantRecord) => Promise<unknown>;

const DRAG_TYPE = "application/x-stratum-tenant";

/** Why `parent` cannot take `tenant`, or null when it can. */
export function moveRefusal(tenant: TenantRecord, parent: TenantRecord): string | null {
  if (parent.id === tenant.id || parent.path.includes(tenant.id)) return `${tenant.name} cannot move under itself or its own subtree.`;
  if (parent.id === tenant.parent_id) return `${tenant.name} is already under ${parent.name}.`;
  return null;
}

export interface TreeMove {
  /** The tenant picked up (keyboard) or dragged (mouse), if any. */
  movingId: string | null;
  dropTargetId: string | null;
  /** What the live region says. */
  announcement: string;
  /** Handles the move keys on the focused item; true when the key was one of them. */
  onKey(event: KeyboardEvent, current: TenantRecord): boolean;
  /** Drag and drop on an item's row. */
  rowProps(tenant: TenantRecord): HTMLAttributes<HTMLDivElement>;
}

export function useTreeMove(
  tenants: Readonly<Record<string, TenantRecord>>,
  onMove: TenantMoveHandler | undefined,
  onMoved: (tenant: TenantRecord, parent: TenantRecord) => void,
): TreeMove {
  const [movingId, setMovingId] = useState<string | null>(null);
  const [dropTargetId, setDropTargetId] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const moving = movingId ? tenants[movingId] : undefined;

  const drop = (tenant: TenantRecord, parent: TenantRecord) => {
    setDropTargetId(null);
    const refusal = moveRefusal(tenant, parent);
    if (refusal || !onMove) {
      // Still picked up: the operator goes on to another parent (a drag ends by itself).
      setAnnouncement(refusal ? `${refusal} Choose another parent, or press Escape.` : "");
      return;
    }
    setMovingId(null);
    setAnnouncement(`Moving ${tenant.name} under ${parent.name}…`);
    onMove(tenant, parent).then(
      () => {
        setAnnouncement(`${tenant.name} is now under ${parent.name}.`);
        onMoved(tenant, parent);
      },
      () => setAnnouncement(`${tenant.name} was not moved.`),
    );
  };

  const onKey = (event: KeyboardEvent, current: TenantRecord): boolean => {
    if (!onMove) return false;
    const command = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    if (command && key === "x") {
      if (current.parent_id === null) {
        setAnnouncement(`${current.name} is a top-level tenant; it has no parent to move from.`);
      } else {
        setMovingId(current.id);
        setAnnouncement(`${current.name} picked up. Go to its new parent and press Ctrl+V; Escape cancels.`);
      }
      return true;
    }
    if (command && key === "v" && moving) {
      drop(moving, current);
      return true;
    }
    if (key === "escape" && moving) {
      setMovingId(null);
      setAnnouncement(`${moving.name} put back; nothing moved.`);
      return true;
    }
    return false;
  };

  const rowProps = (tenant: TenantRecord): HTMLAttributes<HTMLDivElement> => {
    if (!onMove) return {};
    const accepts = (event: DragEvent) => moving !== undefined && event.dataTransfer.types.includes(DRAG_TYPE) && moveRefusal(moving, tenant) === null;
    return {
      draggable: tenant.parent_id !== null,
      onDragStart: (event) => {
        event.dataTransfer.setData(DRAG_TYPE, tenant.id);
        event.dataTransfer.effectAllowed = "move";
        setMovingId(tenant.id);
      },
      onDragOver: (event) => {
        if (!accepts(event)) return;
        // Without preventDefault the browser refuses the drop here.
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        if (dropTargetId !== tenant.id) setDropTargetId(tenant.id);
      },
      onDragLeave: () => {
        if (dropTargetId === tenant.id) setDropTargetId(null);
      },
      onDrop: (event) => {
        event.preventDefault();
        if (moving) drop(moving, tenant);
      },
      onDragEnd: () => {
        setMovingId(null);
        setDropTargetId(null);
      },
    };
  };

  return { movingId, dropTargetId, announcement, onKey, rowProps };
}
