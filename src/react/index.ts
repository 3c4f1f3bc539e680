/**
 * `stratum-prisma/react`: an operator console kit over the control plane — a provider, hooks per
 * resource (invalidated after every write) and components for the tenant tree, config,
 * inheritance, permissions, API keys, webhooks, the audit log and isolation.
 */
// The client contracts and the record types they speak: types.ts and operator-types.ts own the lists.
export type * from "./client/types.js";
export type * from "./client/operator-types.js";
export { createFetchAdminClient, type FetchAdminClientOptions } from "./client/fetch-client.js";
export { adminClientFromSdk, type AdminSdk } from "./client/sdk-client.js";
export type { AdminError } from "./errors.js";

export { StratumProvider, type StratumProviderProps } from "./StratumProvider.js";
export { useStratum, formatDate, type StratumContextValue, type StratumTheme, type ToastTone } from "./context.js";
export { invalidate, useRevision, type StratumResource } from "./invalidation.js";

export { useTenantTree, type TenantTreeState, type TreeNodeState } from "./hooks/use-tenant-tree.js";
export { useAllTenants, treeOrder } from "./hooks/use-all-tenants.js";
export { useConfig, type ConfigData } from "./hooks/use-config.js";
export { useInheritance, type InheritanceData } from "./hooks/use-inheritance.js";
export { usePermissions, type PermissionData } from "./hooks/use-permissions.js";
export { useApiKeys } from "./hooks/use-api-keys.js";
export { useWebhooks } from "./hooks/use-webhooks.js";
export { useDeliveries, hasDeliveryInFlight } from "./hooks/use-deliveries.js";
export { useAudit, type AuditFilter, type AuditState } from "./hooks/use-audit.js";
export { useIsolation, type IsolationData } from "./hooks/use-isolation.js";
export { useMutation, type Mutation } from "./hooks/use-mutation.js";
export { useAsync, type AsyncState } from "./hooks/use-async.js";

export { TenantTree, type TenantTreeProps } from "./TenantTree.js";
export { moveRefusal, type TenantMoveHandler } from "./tree-move.js";
export { TenantSwitcher, type TenantSwitcherProps } from "./TenantSwitcher.js";
export { TenantActions, type TenantActionsProps } from "./TenantActions.js";
export { CreateTenantDialog } from "./CreateTenantDialog.js";
export { RenameTenantDialog } from "./RenameTenantDialog.js";
export { MoveTenantDialog } from "./MoveTenantDialog.js";
export { DeleteTenantDialog } from "./DeleteTenantDialog.js";
export { ConfigEditor, type ConfigEditorProps } from "./ConfigEditor.js";
export { InheritanceView, type InheritanceViewProps } from "./InheritanceView.js";
export { PermissionEditor, type PermissionEditorProps } from "./PermissionEditor.js";
export { ApiKeyManager, type ApiKeyManagerProps } from "./ApiKeyManager.js";
export { WebhookEditor, type WebhookEditorProps } from "./WebhookEditor.js";
export { WebhookDeliveries, type WebhookDeliveriesProps } from "./WebhookDeliveries.js";
export { AuditLog, type AuditLogProps } from "./AuditLog.js";
export { IsolationPanel, type IsolationPanelProps } from "./IsolationPanel.js";
export { Tabs, type TabSpec, type TabsProps } from "./Tabs.js";
export { Dialog, type DialogProps } from "./components/Dialog.js";
export { Loading } from "./components/Loading.js";
export { Badge, type BadgeTone } from "./components/Badge.js";
export { ErrorMessage } from "./components/ErrorMessage.js";
export { stratumAdminCss } from "./styles.js";
