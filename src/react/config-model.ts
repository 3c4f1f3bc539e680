/** What each config row of a tenant is: its own value, an inherited one, or one an ancestor locked. */
import type { ConfigRecord, ResolvedConfig, TenantRecord } from "./client/types.js";
import { tenantName } from "./chain.js";

export interface ConfigRowModel {
  key: string;
  value: unknown;
  /** The value was withheld by the server (sensitive key). */
  redacted: boolean;
  sensitive: boolean;
  locked: boolean;
  sourceId: string;
  sourceName: string;
  /** The resolved value is the tenant's own. */
  isOwn: boolean;
  /** An ancestor locked the key: the tenant cannot set it. */
  lockedAbove: boolean;
  /** The tenant's own row, also when a lock above makes it ineffective. */
  own: ConfigRecord | undefined;
}

export function configRows(tenantId: string, resolved: ResolvedConfig, own: Record<string, ConfigRecord>, chain: readonly TenantRecord[]): ConfigRowModel[] {
  const rows: ConfigRowModel[] = [];
  for (const [key, entry] of Object.entries(resolved)) {
    if (!entry) continue;
    const isOwn = entry.source_tenant_id === tenantId;
    rows.push({
      key,
      value: entry.value,
      redacted: entry.redacted === true,
      sensitive: entry.sensitive === true,
      locked: entry.locked,
      sourceId: entry.source_tenant_id,
      sourceName: tenantName(chain, entry.source_tenant_id),
      isOwn,
      lockedAbove: entry.locked && !isOwn,
      own: own[key],
    });
  }
  return rows.sort((a, b) => a.key.localeCompare(b.key));
}
