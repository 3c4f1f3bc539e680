/**
 * Every tenant the caller may see, in tree order (depth-first, siblings by name): what a tenant
 * switcher or a "move under…" picker lists.
 */
import type { StratumAdminClient, TenantRecord } from "../client/types.js";
import { useRevision } from "../invalidation.js";
import { useAsync, type AsyncState } from "./use-async.js";

const PAGE = 200;
/** 25 pages of 200: a picker past 5,000 tenants wants a search field, not a list. */
const MAX_PAGES = 25;

export function treeOrder(tenants: readonly TenantRecord[]): TenantRecord[] {
  const ids = new Set(tenants.map((t) => t.id));
  const children = new Map<string | null, TenantRecord[]>();
  for (const t of tenants) {
    // A tenant whose parent the caller cannot see is a top for this caller.
    const parent = t.parent_id && ids.has(t.parent_id) ? t.parent_id : null;
    children.set(parent, [...(children.get(parent) ?? []), t]);
  }
  const out: TenantRecord[] = [];
  const walk = (parent: string | null) => {
    for (const t of (children.get(parent) ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
      out.push(t);
      walk(t.id);
    }
  };
  walk(null);
  return out;
}

export function useAllTenants(client: StratumAdminClient): AsyncState<TenantRecord[]> {
  return useAsync(
    async () => {
      const all: TenantRecord[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await client.listTenants(cursor ? { limit: PAGE, cursor } : { limit: PAGE });
        all.push(...answer.data);
        if (!answer.next_cursor) break;
        cursor = answer.next_cursor;
      }
      return treeOrder(all);
    },
    [client],
    useRevision(client, "tenants"),
  );
}
