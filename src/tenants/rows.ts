/** A tenant row as the tenants service selects it, and its public shape. */
import type { Tenant } from "../core/types.js";

/** The selected columns, with table alias `a` ("t." or ""): the path as labels with the uuid's dashes back. */
export const columns = (a: string) => `${a}id, ${a}parent_id, ${a}slug, ${a}name,
  string_to_array(replace(${a}path::text, '_', '-'), '.') AS path, ${a}depth, ${a}status, ${a}isolation_strategy,
  ${a}placement, ${a}metadata, ${a}created_at, ${a}updated_at, ${a}archived_at`;
export const COLUMNS = columns("");

export interface TenantRow extends Omit<Tenant, "path"> {
  path: string[] | null;
}

export function toTenant(row: TenantRow): Tenant {
  return { ...row, path: row.path ?? [], metadata: (row.metadata ?? {}) as Record<string, unknown> };
}
