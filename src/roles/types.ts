/**
 * Roles: named sets of scopes. A role is a permission (key `role:<name>`, value `{ scopes }`), so
 * it is defined at a tenant and inherited down the tree exactly as permissions are — LOCKED,
 * INHERITED (descendants may override its scopes) or DELEGATED (descendants may re-grant it) —
 * and revoked by the grant's revocation mode. An assignment gives a principal (an API key, or
 * one of the app's own users) a role at a tenant; it holds there and in the tenant's whole
 * subtree, where the role is read as that tenant resolves it.
 */
import { z } from "zod";
import type { PermissionMode, RevocationMode } from "../permissions/index.js";

/** The permission-key prefix that marks a role. Reserved: the REST permission routes refuse it. */
export const ROLE_KEY_PREFIX = "role:";

export const PrincipalTypes = ["api_key", "user"] as const;
export type PrincipalType = (typeof PrincipalTypes)[number];

/** Who holds roles: an API key (its id) or the app's own user (whatever id the app gives it). */
export interface PrincipalRef {
  type: PrincipalType;
  id: string;
}

export const RoleName = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "a lower-case name: a letter, then letters, digits or _ (at most 63)");
/** A scope: the control plane's (`tenants:read`, `*`) or the app's own (`tickets:close`). */
export const Scope = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_*][A-Za-z0-9_.:*/-]*$/, "letters, digits and _ . : / - * (not starting with a symbol)");
export const Scopes = z.array(Scope).min(1).max(100);
export const PrincipalSchema = z.object({ type: z.enum(PrincipalTypes), id: z.string().trim().min(1).max(255) }).strict();

/** What the permission row stores as its value. */
export const RoleValue = z.object({ scopes: Scopes, description: z.string().max(500).optional() }).strict();
export type RoleValue = z.infer<typeof RoleValue>;

export interface DefineRoleInput {
  name: string;
  scopes: string[];
  description?: string;
  /** As for permissions; default INHERITED (descendants may override the scopes, not lock or re-grant). */
  mode?: PermissionMode;
  /** What deleteRole does to the subtree's overrides; default CASCADE. */
  revocation_mode?: RevocationMode;
}

export interface UpdateRoleInput {
  scopes?: string[];
  description?: string;
  mode?: PermissionMode;
  revocation_mode?: RevocationMode;
}

/** A tenant's own definition (or override) of a role. */
export interface Role {
  name: string;
  tenant_id: string;
  scopes: string[];
  description: string | null;
  mode: PermissionMode;
  revocation_mode: RevocationMode;
  delegated_from: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A role as a tenant sees it after inheritance. */
export interface ResolvedRole {
  name: string;
  scopes: string[];
  description: string | null;
  mode: PermissionMode;
  /** The tenant whose definition won. */
  source_tenant_id: string;
  locked: boolean;
  delegated: boolean;
}

export interface RoleAssignment {
  id: string;
  /** The role holds at this tenant and its subtree. */
  tenant_id: string;
  principal_type: PrincipalType;
  principal_id: string;
  role: string;
  created_at: Date;
}

export interface PrincipalScopes {
  tenant_id: string;
  principal: PrincipalRef;
  /** Every scope the principal's roles give it at this tenant, sorted, without duplicates. */
  scopes: string[];
  /** Each assignment on the tenant's chain, with what its role resolves to here. */
  roles: Array<{
    role: string;
    /** The tenant the role was assigned at (this tenant or an ancestor). */
    assigned_at: string;
    /** Empty, with `resolved: false`, when the role is not defined (or revoked) at this tenant. */
    scopes: string[];
    resolved: boolean;
  }>;
}

export interface RoleService {
  defineRole(tenantId: string, input: DefineRoleInput): Promise<Role>;
  updateRole(tenantId: string, name: string, input: UpdateRoleInput): Promise<Role>;
  /** Revokes the tenant's own definition by its revocation mode (see revokePermission). */
  deleteRole(tenantId: string, name: string): Promise<{ name: string; revocation_mode: RevocationMode; removed: number; tombstone: boolean }>;
  /** The roles that resolve at the tenant (own and inherited). */
  listRoles(tenantId: string): Promise<ResolvedRole[]>;
  resolveRole(tenantId: string, name: string): Promise<ResolvedRole | null>;
  assignRole(tenantId: string, principal: PrincipalRef, role: string): Promise<RoleAssignment>;
  /** True when an assignment was removed. */
  unassignRole(tenantId: string, principal: PrincipalRef, role: string): Promise<boolean>;
  /** The tenant's own assignments, optionally of one principal. */
  listRoleAssignments(tenantId: string, principal?: PrincipalRef): Promise<RoleAssignment[]>;
  /** One call: every scope the principal holds at the tenant through its roles. */
  resolvePrincipalScopes(tenantId: string, principal: PrincipalRef): Promise<PrincipalScopes>;
}
