/**
 * /tenants/:id/permissions and /policies: delegated grants and ABAC policies. Resolved
 * permissions are cached and, like config, dropped for the whole subtree on a write.
 */
import type { SdkCache } from "../cache.js";
import { seg, type Transport } from "../http.js";
import type {
  AbacDecision,
  AbacPolicyInput,
  CreatePermissionInput,
  PermissionRecord,
  PolicyRecord,
  ResolvedPermissions,
  RevokeResult,
  UpdatePermissionInput,
} from "../types.js";

export interface PermissionsApi {
  /** Every permission the tenant holds, own or inherited. Cached. */
  resolve(tenantId: string): Promise<ResolvedPermissions>;
  /** The tenant's own grants, tombstones included. */
  list(tenantId: string): Promise<PermissionRecord[]>;
  create(tenantId: string, input: CreatePermissionInput): Promise<PermissionRecord>;
  update(tenantId: string, key: string, patch: UpdatePermissionInput): Promise<PermissionRecord>;
  /** Revokes by the grant's revocation_mode. */
  revoke(tenantId: string, key: string): Promise<RevokeResult>;
}

export interface EvaluateInput {
  subject: Record<string, unknown>;
  action: string;
  resource: Record<string, unknown>;
  context?: Record<string, unknown>;
}

export interface PoliciesApi {
  list(tenantId: string, options?: { inherited?: boolean }): Promise<PolicyRecord[]>;
  create(tenantId: string, input: AbacPolicyInput & { name: string }): Promise<PolicyRecord>;
  update(tenantId: string, name: string, patch: Partial<AbacPolicyInput>): Promise<PolicyRecord>;
  delete(tenantId: string, name: string): Promise<void>;
  /** Deny wins; no matching policy denies. */
  evaluate(tenantId: string, input: EvaluateInput): Promise<AbacDecision>;
}

export function permissionsApi(http: Transport, cache: SdkCache): PermissionsApi {
  const base = (tenantId: string) => `/tenants/${seg(tenantId)}`;
  async function write<T>(tenantId: string, run: () => Promise<T>): Promise<T> {
    cache.invalidateSubtree(tenantId, ["permissions"]);
    try {
      return await run();
    } finally {
      cache.invalidateSubtree(tenantId, ["permissions"]);
    }
  }

  return {
    resolve: (tenantId) =>
      cache.read("permissions", tenantId, () => http.request<ResolvedPermissions>({ method: "GET", path: `${base(tenantId)}/permissions` })),
    list: (tenantId) => http.request({ method: "GET", path: `${base(tenantId)}/permission-grants` }),
    create: (tenantId, input) => write(tenantId, () => http.request({ method: "POST", path: `${base(tenantId)}/permissions`, body: input })),
    update: (tenantId, key, patch) => write(tenantId, () => http.request({ method: "PATCH", path: `${base(tenantId)}/permissions/${seg(key)}`, body: patch })),
    revoke: (tenantId, key) => write(tenantId, () => http.request({ method: "DELETE", path: `${base(tenantId)}/permissions/${seg(key)}` })),
  };
}

export function policiesApi(http: Transport): PoliciesApi {
  const base = (tenantId: string) => `/tenants/${seg(tenantId)}/policies`;
  return {
    list: (tenantId, options = {}) => http.request({ method: "GET", path: base(tenantId), query: { inherited: options.inherited } }),
    create: (tenantId, input) => http.request({ method: "POST", path: base(tenantId), body: input }),
    update: (tenantId, name, patch) => http.request({ method: "PATCH", path: `${base(tenantId)}/${seg(name)}`, body: patch }),
    delete: (tenantId, name) => http.request<void>({ method: "DELETE", path: `${base(tenantId)}/${seg(name)}` }),
    evaluate: (tenantId, input) => http.request({ method: "POST", path: `/tenants/${seg(tenantId)}/evaluate`, body: input }),
  };
}
