/**
 * StratumAdminClient over an SDK client (`stratum({ controlPlaneUrl, apiKey })` from
 * stratum-prisma/sdk), for apps that already hold one and want its read cache. The SDK drops a
 * tenant's subtree from its cache on every write, so the components re-read fresh values.
 */
import type { StratumSdk } from "../../sdk/client.js";
import type { StratumAdminClient } from "./types.js";

export type AdminSdk = Pick<StratumSdk, "tenants" | "config" | "permissions">;

export function adminClientFromSdk(sdk: AdminSdk): StratumAdminClient {
  return {
    listTenants: (query = {}) => sdk.tenants.list(query),
    getTenant: (id) => sdk.tenants.get(id),
    getChildren: (id) => sdk.tenants.children(id),
    getAncestors: (id) => sdk.tenants.ancestors(id),
    resolveConfig: (id) => sdk.config.resolve(id),
    getOwnConfig: (id) => sdk.config.get(id),
    setConfig: (id, key, input) => sdk.config.set(id, key, input),
    deleteConfig: (id, key) => sdk.config.delete(id, key),
    resolvePermissions: (id) => sdk.permissions.resolve(id),
    listPermissions: (id) => sdk.permissions.list(id),
    createPermission: (id, input) => sdk.permissions.create(id, input),
    updatePermission: (id, key, patch) => sdk.permissions.update(id, key, patch),
    revokePermission: (id, key) => sdk.permissions.revoke(id, key),
  };
}
