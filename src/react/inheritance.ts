/**
 * How one key travels down a chain (root → tenant), computed from each tenant's own rows with the
 * rules of docs/config.md: the nearest value wins, unless an ancestor locked the key, in which
 * case the highest lock wins and every value set below it is blocked. Archived tenants drop out.
 */
import type { ConfigRecord, ResolvedConfig, TenantRecord } from "./client/types.js";

export type StepKind =
  /** The first value on the chain. */
  | "sets"
  /** A value replacing one set above. */
  | "overrides"
  /** A value ignored because a tenant above locked the key. */
  | "blocked"
  /** No own value: the one from above applies. */
  | "inherits"
  /** No value here or above. */
  | "unset"
  /** An archived tenant: its values and locks do not count. */
  | "archived";

export interface InheritanceStep {
  tenant: TenantRecord;
  kind: StepKind;
  own: ConfigRecord | undefined;
  /** This tenant's value is the one every tenant below it gets, whatever they set. */
  locks: boolean;
  /** The tenant whose lock blocks or fixes the value here. */
  lockedBy: TenantRecord | undefined;
  /** The server resolves the viewed tenant's value from this tenant. */
  effective: boolean;
}

export function inheritanceSteps(
  key: string,
  chain: readonly TenantRecord[],
  ownByTenant: Readonly<Record<string, Record<string, ConfigRecord>>>,
  resolved: ResolvedConfig,
): InheritanceStep[] {
  const sourceId = resolved[key]?.source_tenant_id;
  let lockHolder: TenantRecord | undefined;
  let valueAbove = false;
  return chain.map((tenant) => {
    const own = ownByTenant[tenant.id]?.[key];
    const base = { tenant, own, effective: tenant.id === sourceId, lockedBy: lockHolder, locks: false };
    if (tenant.status === "archived") return { ...base, kind: "archived" };
    if (!own) return { ...base, kind: valueAbove ? "inherits" : "unset" };
    if (lockHolder) return { ...base, kind: "blocked" };
    const kind: StepKind = valueAbove ? "overrides" : "sets";
    valueAbove = true;
    if (own.locked) lockHolder = tenant;
    return { ...base, kind, locks: own.locked };
  });
}

/** Every key set anywhere on the chain or resolved for the tenant, sorted. */
export function chainKeys(ownByTenant: Readonly<Record<string, Record<string, ConfigRecord>>>, resolved: ResolvedConfig): string[] {
  const keys = new Set(Object.keys(resolved));
  for (const own of Object.values(ownByTenant)) for (const key of Object.keys(own)) keys.add(key);
  return [...keys].sort((a, b) => a.localeCompare(b));
}
