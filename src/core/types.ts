/** Shapes shared by the public API. Snake_case fields match the product documents. */
export const IsolationStrategies = ["SHARED_RLS", "SCHEMA", "DATABASE"] as const;
export type IsolationStrategyName = (typeof IsolationStrategies)[number];

export const TenantStatuses = ["active", "suspended", "archived"] as const;
export type TenantStatus = (typeof TenantStatuses)[number];

export interface Tenant {
  id: string;
  parent_id: string | null;
  slug: string;
  name: string;
  /** Ancestor ids from the root to this tenant, inclusive. */
  path: string[];
  depth: number;
  status: TenantStatus;
  isolation_strategy: IsolationStrategyName;
  placement: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

export const MAX_DEPTH = 20;
