/**
 * `stratum-prisma/react`: admin components for the tenant tree, config, inheritance and
 * permissions, backed by any StratumAdminClient (the control plane over fetch, or the SDK).
 */
// The client contract and the record types it speaks: types.ts owns the list.
export type * from "./client/types.js";
export { createFetchAdminClient, type FetchAdminClientOptions } from "./client/fetch-client.js";
export { adminClientFromSdk, type AdminSdk } from "./client/sdk-client.js";
export type { AdminError } from "./errors.js";
export { TenantTree, type TenantTreeProps } from "./TenantTree.js";
export { ConfigEditor, type ConfigEditorProps } from "./ConfigEditor.js";
export { InheritanceView, type InheritanceViewProps } from "./InheritanceView.js";
export { PermissionEditor, type PermissionEditorProps } from "./PermissionEditor.js";
export { stratumAdminCss } from "./styles.js";
