/** The items a keyboard user can reach: every top item, and the children of open items, in order. */
import type { TreeNodeState } from "./hooks/use-tenant-tree.js";

export interface VisibleItem {
  id: string;
  parentId: string | null;
  level: number;
}

export function visibleItems(roots: readonly string[], nodes: Readonly<Record<string, TreeNodeState>>, expanded: ReadonlySet<string>): VisibleItem[] {
  const out: VisibleItem[] = [];
  const walk = (ids: readonly string[], parentId: string | null, level: number) => {
    for (const id of ids) {
      out.push({ id, parentId, level });
      const children = nodes[id]?.children;
      if (expanded.has(id) && children) walk(children, id, level + 1);
    }
  };
  walk(roots, null, 1);
  return out;
}

/** An item may have children until a fetch says it has none. */
export function isExpandable(node: TreeNodeState | undefined): boolean {
  return node?.children === undefined || node.children.length > 0;
}
