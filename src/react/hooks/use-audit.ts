/**
 * The audit trail of a tenant's subtree, newest first, a page at a time. `loadMore` appends the
 * next (older) page; a new filter or an invalidation starts again from the newest.
 */
import { useCallback, useState } from "react";
import type { AuditEntryRecord, AuditQuery, StratumOperatorClient } from "../client/operator-types.js";
import { toAdminError, type AdminError } from "../errors.js";
import { useRevision } from "../invalidation.js";
import { useAsync } from "./use-async.js";

export interface AuditFilter {
  action?: string;
  actor?: string;
}

export interface AuditState {
  entries: AuditEntryRecord[] | undefined;
  error: AdminError | null;
  loading: boolean;
  hasMore: boolean;
  loadMore(): Promise<void>;
  reload(): Promise<void>;
}

const PAGE = 25;

export function useAudit(client: StratumOperatorClient, tenantId: string, filter: AuditFilter = {}): AuditState {
  const { action, actor } = filter;
  const query = (cursor?: string): AuditQuery => ({ limit: PAGE, ...(action ? { action } : {}), ...(actor ? { actor } : {}), ...(cursor ? { cursor } : {}) });
  const [older, setOlder] = useState<{ entries: AuditEntryRecord[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<AdminError | null>(null);
  const first = useAsync(
    async () => {
      setOlder(null);
      return client.listAudit(tenantId, query());
    },
    [client, tenantId, action, actor],
    useRevision(client, "audit"),
  );
  const cursor = older ? older.cursor : (first.data?.next_cursor ?? null);
  const loadMore = useCallback(async () => {
    if (!cursor) return;
    try {
      const page = await client.listAudit(tenantId, query(cursor));
      setOlder((prev) => ({ entries: [...(prev?.entries ?? []), ...page.entries], cursor: page.next_cursor }));
      setMoreError(null);
    } catch (caught) {
      setMoreError(toAdminError(caught));
    }
    // query() reads action/actor, which are deps here.
  }, [client, tenantId, cursor, action, actor]);
  const entries = first.data ? [...first.data.entries, ...(older?.entries ?? [])] : undefined;
  return { entries, error: first.error ?? moreError, loading: first.loading, hasMore: cursor !== null, loadMore, reload: first.reload };
}
