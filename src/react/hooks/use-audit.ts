/**
 * The audit trail of a tenant's subtree, newest first, a page at a time. `loadMore` appends the
 * next (older) page; a new filter or an invalidation starts again from the newest. One page is
 * fetched at a time: a scroll observer and a button may both ask for the same cursor.
 */
import { useCallback, useRef, useState } from "react";
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
  /** An older page is being fetched. */
  loadingMore: boolean;
  hasMore: boolean;
  loadMore(): Promise<void>;
  reload(): Promise<void>;
}

const PAGE = 25;

export function useAudit(client: StratumOperatorClient, tenantId: string, filter: AuditFilter = {}, pageSize = PAGE): AuditState {
  const { action, actor } = filter;
  const query = (cursor?: string): AuditQuery => ({
    limit: pageSize,
    ...(action ? { action } : {}),
    ...(actor ? { actor } : {}),
    ...(cursor ? { cursor } : {}),
  });
  const [older, setOlder] = useState<{ entries: AuditEntryRecord[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<AdminError | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const busy = useRef(false);
  const first = useAsync(
    async () => {
      setOlder(null);
      return client.listAudit(tenantId, query());
    },
    [client, tenantId, action, actor, pageSize],
    useRevision(client, "audit"),
  );
  const cursor = older ? older.cursor : (first.data?.next_cursor ?? null);
  const loadMore = useCallback(async () => {
    if (!cursor || busy.current) return;
    busy.current = true;
    setLoadingMore(true);
    try {
      const page = await client.listAudit(tenantId, query(cursor));
      setOlder((prev) => ({ entries: [...(prev?.entries ?? []), ...page.entries], cursor: page.next_cursor }));
      setMoreError(null);
    } catch (caught) {
      setMoreError(toAdminError(caught));
    } finally {
      busy.current = false;
      setLoadingMore(false);
    }
    // query() reads action/actor, which are deps here.
  }, [client, tenantId, cursor, action, actor, pageSize]);
  const entries = first.data ? [...first.data.entries, ...(older?.entries ?? [])] : undefined;
  return { entries, error: first.error ?? moreError, loading: first.loading, loadingMore, hasMore: cursor !== null, loadMore, reload: first.reload };
}
