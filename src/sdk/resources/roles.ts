/**
 * /tenants/:id/roles, role assignments and principal scopes. Roles are permissions (`role:<name>`),
 * so a role write drops the cached resolved permissions of the tenant's subtree too.
 */
import type { SdkCache } from "../cache.js";
import { seg, type Transport } from "../http.js";
import type { DefineRoleInput, PrincipalRef, PrincipalScopes, ResolvedRole, Role, RoleAssignment, UpdateRoleInput } from "../../roles/index.js";
import type { Wire } from "../types.js";

export type RoleRecord = Wire<Role>;
export type RoleAssignmentRecord = Wire<RoleAssignment>;
export type { DefineRoleInput, PrincipalRef, PrincipalScopes, ResolvedRole, UpdateRoleInput };

export interface RolesApi {
  /** The roles the tenant resolves (own and inherited). */
  list(tenantId: string): Promise<ResolvedRole[]>;
  define(tenantId: string, input: DefineRoleInput): Promise<RoleRecord>;
  update(tenantId: string, name: string, patch: UpdateRoleInput): Promise<RoleRecord>;
  /** Revokes the tenant's own definition by its revocation_mode. */
  delete(tenantId: string, name: string): Promise<{ name: string; revocation_mode: string; removed: number; tombstone: boolean }>;
  /** The tenant's own assignments, optionally of one principal. */
  assignments(tenantId: string, principal?: PrincipalRef): Promise<RoleAssignmentRecord[]>;
  assign(tenantId: string, principal: PrincipalRef, role: string): Promise<RoleAssignmentRecord>;
  /** True when the principal held the role here. */
  unassign(tenantId: string, principal: PrincipalRef, role: string): Promise<boolean>;
  /** Every scope the principal's roles give it at the tenant, in one call. */
  principalScopes(tenantId: string, principal: PrincipalRef): Promise<PrincipalScopes>;
}

export function rolesApi(http: Transport, cache: SdkCache): RolesApi {
  const base = (tenantId: string) => `/tenants/${seg(tenantId)}`;
  async function write<T>(tenantId: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } finally {
      cache.invalidateSubtree(tenantId, ["permissions"]);
    }
  }
  const holder = (p: PrincipalRef) => `${seg(p.type)}/${seg(p.id)}`;
  return {
    list: (tenantId) => http.request({ method: "GET", path: `${base(tenantId)}/roles` }),
    define: (tenantId, input) => write(tenantId, () => http.request({ method: "POST", path: `${base(tenantId)}/roles`, body: input })),
    update: (tenantId, name, patch) => write(tenantId, () => http.request({ method: "PATCH", path: `${base(tenantId)}/roles/${seg(name)}`, body: patch })),
    delete: (tenantId, name) => write(tenantId, () => http.request({ method: "DELETE", path: `${base(tenantId)}/roles/${seg(name)}` })),
    assignments: (tenantId, principal) =>
      http.request({
        method: "GET",
        path: `${base(tenantId)}/role-assignments`,
        query: principal ? { principal_type: principal.type, principal_id: principal.id } : {},
      }),
    assign: (tenantId, principal, role) =>
      http.request({ method: "POST", path: `${base(tenantId)}/role-assignments`, body: { principal_type: principal.type, principal_id: principal.id, role } }),
    unassign: async (tenantId, principal, role) =>
      (await http.request<{ removed: boolean }>({ method: "DELETE", path: `${base(tenantId)}/role-assignments/${holder(principal)}/${seg(role)}` })).removed,
    principalScopes: (tenantId, principal) => http.request({ method: "GET", path: `${base(tenantId)}/principals/${holder(principal)}/scopes` }),
  };
}
