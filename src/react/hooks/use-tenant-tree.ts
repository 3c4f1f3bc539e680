/**
 * State of the tenant tree: the top tenants, the children loaded so far, and which items are
 * open. Children are fetched the first time an item opens, never before: a tree of thousands of
 * tenants costs one request per opened item.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { StratumAdminClient, TenantRecord } from "../client/types.js";
import { toAdminError, type AdminError } from "../errors.js";
import { useRevision } from "../invalidation.js";
import { useAsync, type AsyncState } from "./use-async.js";

export interface TreeNodeState {
  /** Undefined until fetched: the item may or may not have children. */
  children?: string[];
  loading: boolean;
  error: AdminError | null;
}

export interface TenantTreeState {
  roots: AsyncState<string[]>;
  tenants: Readonly<Record<string, TenantRecord>>;
  nodes: Readonly<Record<string, TreeNodeState>>;
  expanded: ReadonlySet<string>;
  expand(id: string): void;
  collapse(id: string): void;
  /** Fetches an item's children again (after a failure). */
  reloadChildren(id: string): void;
}

const PAGE = 200;
/** 50 pages of 200 top-level tenants: past that, pass `rootId`. */
const MAX_PAGES = 50;
/**
 * Children of at most this many items are fetched one level ahead, so a leaf is known to be a
 * leaf (no expander) before anyone opens it; wider levels stay lazy.
 */
const LOOKAHEAD = 50;

async function loadTops(client: StratumAdminClient, rootId: string | undefined): Promise<TenantRecord[]> {
  if (rootId) return [await client.getTenant(rootId)];
  const tops: TenantRecord[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    // roots=true: the top-level tenants, or for a key limited to a subtree, its own tenant.
    const answer = await client.listTenants(cursor ? { roots: true, limit: PAGE, cursor } : { roots: true, limit: PAGE });
    tops.push(...answer.data);
    if (!answer.next_cursor) break;
    cursor = answer.next_cursor;
  }
  return tops;
}

export function useTenantTree(client: StratumAdminClient, rootId: string | undefined): TenantTreeState {
  const [tenants, setTenants] = useState<Record<string, TenantRecord>>({});
  const [nodes, setNodes] = useState<Record<string, TreeNodeState>>({});
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const open = useRef(expanded);
  open.current = expanded;
  // Children answers for a previous client or root are dropped.
  const generation = useRef(0);

  const remember = useCallback((list: readonly TenantRecord[]) => {
    setTenants((prev) => ({ ...prev, ...Object.fromEntries(list.map((t) => [t.id, t])) }));
  }, []);

  const revision = useRevision(client, "tenants");
  const roots = useAsync(
    async () => {
      const tops = await loadTops(client, rootId);
      remember(tops);
      return tops.map((t) => t.id);
    },
    [client, rootId, remember],
    revision,
  );

  useEffect(() => {
    generation.current++;
    setNodes({});
    setExpanded(new Set());
  }, [client, rootId]);

  const fetchChildren = useCallback(
    (id: string, lookahead = true) => {
      const mine = generation.current;
      setNodes((prev) => ({ ...prev, [id]: { ...prev[id], loading: true, error: null } }));
      client.getChildren(id).then(
        (children) => {
          if (mine !== generation.current) return;
          remember(children);
          setNodes((prev) => ({ ...prev, [id]: { children: children.map((c) => c.id), loading: false, error: null } }));
          // Also when the item was opened while this (look-ahead) load ran: its children are now shown.
          if ((lookahead || open.current.has(id)) && children.length <= LOOKAHEAD) for (const c of children) self.current(c.id, false);
        },
        (caught: unknown) => {
          if (mine !== generation.current) return;
          setNodes((prev) => ({ ...prev, [id]: { loading: false, error: toAdminError(caught) } }));
        },
      );
    },
    [client, remember],
  );

  // The look-ahead calls the current fetchChildren through a ref (a callback cannot name itself).
  const self = useRef(fetchChildren);
  self.current = fetchChildren;

  const expand = useCallback(
    (id: string) => {
      setExpanded((prev) => (prev.has(id) ? prev : new Set(prev).add(id)));
      const node = nodes[id];
      if (!node || (node.children === undefined && !node.loading && !node.error)) fetchChildren(id);
      // Children known from the look-ahead: look one level further, for the items now shown.
      else if (node.children && node.children.length <= LOOKAHEAD) for (const c of node.children) if (!nodes[c]) fetchChildren(c, false);
    },
    [nodes, fetchChildren],
  );

  const collapse = useCallback((id: string) => {
    setExpanded((prev) => {
      if (!prev.has(id)) return prev;
      const next = new Set(prev);
      next.delete(id);
      return next;
    });
    // A failed load is tried again on the next open.
    setNodes((prev) => (prev[id]?.error ? { ...prev, [id]: { loading: false, error: null } } : prev));
  }, []);

  // Roots arrive: look one level ahead, so a root without children shows no expander.
  useEffect(() => {
    if (roots.data && roots.data.length <= LOOKAHEAD) for (const id of roots.data) fetchChildren(id, false);
  }, [roots.data, fetchChildren]);

  // After a tenant write (create, rename, move, delete) every level already loaded is re-read.
  const loaded = useRef(nodes);
  loaded.current = nodes;
  const seen = useRef(revision);
  useEffect(() => {
    if (seen.current === revision) return;
    seen.current = revision;
    for (const [id, node] of Object.entries(loaded.current)) if (node.children) fetchChildren(id, true);
  }, [revision, fetchChildren]);

  return { roots, tenants, nodes, expanded, expand, collapse, reloadChildren: fetchChildren };
}
