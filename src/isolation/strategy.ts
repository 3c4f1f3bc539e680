/**
 * One interface, three strategies. A strategy says how a tenant's statements are scoped
 * (`scope`), how its home is created and removed (`provision` / `deprovision`), and where its
 * rows can be read and written wholesale (`connect`), which is what moves and GDPR use.
 */
import type pg from "pg";
import type { IsolationStrategyName } from "../core/types.js";
import type { TenantTable } from "./ddl.js";
import type { PlacementOptions } from "./placement.js";
import type { TenantScope } from "./scope.js";

/** What a strategy needs to know of a tenant. */
export interface TenantRoute {
  id: string;
  slug: string;
  status: string;
  isolation_strategy: IsolationStrategyName;
  placement: string | null;
}

export interface ScopeRequest {
  mode: "s" | "d";
  readOnly: boolean;
  /** Descendants mode: leave out members living in databases of their own instead of refusing. */
  sameDatabaseOnly?: boolean;
  /**
   * Standalone reads go to the hot standby of the tenant's home (replica.ts); writes stay on the
   * primary. `{ after }`: only once the standby has replayed that WAL position, else on the primary.
   */
  replica?: boolean | { after: string };
}

/** Admin connections: DDL for schemas and databases needs the owner role, never the app role. */
export interface AdminAccess {
  /** Owner-role client on the main database. */
  main(): Promise<pg.Client>;
  /** Superuser/owner client on a named server's maintenance database (DATABASE strategy). */
  server(name: string): Promise<pg.Client>;
  /** Owner-role client on a tenant database `<server>/<database>`. */
  database(placement: string): Promise<pg.Client>;
  servers(): string[];
  /** Where new DATABASE tenants go when they name no server, and the servers' tags (placement.ts). */
  placement?(): PlacementOptions;
}

export interface ProvisionContext {
  admin: AdminAccess;
  /** Tenant-scoped tables, by database name. */
  tenantTables: readonly TenantTable[];
  appRole: string;
  /** Requested server for DATABASE tenants. */
  server?: string;
}

export interface IsolationStrategy {
  readonly name: IsolationStrategyName;
  scope(tenant: TenantRoute, request: ScopeRequest, sign: (tenantId: string, mode: "s" | "d") => string): TenantScope;
  /** Creates the tenant's home and returns its placement (null for shared tables). */
  provision(tenant: TenantRoute, ctx: ProvisionContext): Promise<string | null>;
  /** Removes the tenant's home and everything in it. */
  deprovision(tenant: TenantRoute, ctx: ProvisionContext): Promise<void>;
}
