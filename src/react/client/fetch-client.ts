/**
 * StratumAdminClient over `fetch` against the control plane's /api/v1 routes.
 *
 * It reuses the SDK's transport (error bodies become StratumError with the server's code,
 * unreachable servers StratumTransportError) but not the SDK client itself, whose middleware
 * modules are server-side code a browser bundle should not pull in.
 */
import { createTransport, seg } from "../../sdk/http.js";
import type { StratumOperatorClient } from "./operator-types.js";

export interface FetchAdminClientOptions {
  /** Where the control plane (or a proxy in front of it) listens, with or without /api/v1. */
  controlPlaneUrl: string;
  /**
   * Sent as X-API-Key. In a browser leave it out and point controlPlaneUrl at a same-origin proxy
   * that authenticates the user's session and adds the key server-side (examples/dashboard).
   */
  apiKey?: string;
  /** A fetch implementation; default the global one. */
  fetch?: typeof fetch;
  /** Per attempt, default 10 000 ms. */
  timeoutMs?: number;
}

/** Implements the whole operator contract (a superset of StratumAdminClient). */
export function createFetchAdminClient(options: FetchAdminClientOptions): StratumOperatorClient {
  const http = createTransport({
    controlPlaneUrl: options.controlPlaneUrl,
    apiKey: options.apiKey ?? "",
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const tenant = (id: string) => `/tenants/${seg(id)}`;

  return {
    listTenants: (query = {}) => http.request({ method: "GET", path: "/tenants", query: { roots: query.roots, limit: query.limit, cursor: query.cursor } }),
    getTenant: (id) => http.request({ method: "GET", path: tenant(id) }),
    getChildren: (id) => http.request({ method: "GET", path: `${tenant(id)}/children` }),
    getAncestors: (id) => http.request({ method: "GET", path: `${tenant(id)}/ancestors` }),

    resolveConfig: (id) => http.request({ method: "GET", path: `${tenant(id)}/config` }),
    getOwnConfig: (id) => http.request({ method: "GET", path: `${tenant(id)}/config-entries` }),
    setConfig: (id, key, input) => http.request({ method: "PUT", path: `${tenant(id)}/config/${seg(key)}`, body: input }),
    deleteConfig: (id, key) => http.request<void>({ method: "DELETE", path: `${tenant(id)}/config/${seg(key)}` }),

    resolvePermissions: (id) => http.request({ method: "GET", path: `${tenant(id)}/permissions` }),
    listPermissions: (id) => http.request({ method: "GET", path: `${tenant(id)}/permission-grants` }),
    createPermission: (id, input) => http.request({ method: "POST", path: `${tenant(id)}/permissions`, body: input }),
    updatePermission: (id, key, patch) => http.request({ method: "PATCH", path: `${tenant(id)}/permissions/${seg(key)}`, body: patch }),
    revokePermission: (id, key) => http.request({ method: "DELETE", path: `${tenant(id)}/permissions/${seg(key)}` }),

    createTenant: (input) => http.request({ method: "POST", path: "/tenants", body: input }),
    updateTenant: (id, patch) => http.request({ method: "PATCH", path: tenant(id), body: patch }),
    moveTenant: (id, parentId) => http.request({ method: "POST", path: `${tenant(id)}/move`, body: { parent_id: parentId } }),
    setTenantStatus: (id, verb) => http.request({ method: "POST", path: `${tenant(id)}/${verb}` }),
    deleteTenant: (id, opts = {}) => http.request({ method: "DELETE", path: tenant(id), query: { cascade: opts.cascade } }),

    listApiKeys: (query = {}) => http.request({ method: "GET", path: "/api-keys", query: { ...query } }),
    createApiKey: (input) => http.request({ method: "POST", path: "/api-keys", body: input }),
    revokeApiKey: (keyId) => http.request({ method: "DELETE", path: `/api-keys/${seg(keyId)}` }),

    listWebhooks: (id) => http.request({ method: "GET", path: `${tenant(id)}/webhooks` }),
    createWebhook: (id, input) => http.request({ method: "POST", path: `${tenant(id)}/webhooks`, body: input }),
    updateWebhook: (id, hook, patch) => http.request({ method: "PATCH", path: `${tenant(id)}/webhooks/${seg(hook)}`, body: patch }),
    rotateWebhookSecret: (id, hook) => http.request({ method: "POST", path: `${tenant(id)}/webhooks/${seg(hook)}/rotate-secret` }),
    deleteWebhook: (id, hook) => http.request<void>({ method: "DELETE", path: `${tenant(id)}/webhooks/${seg(hook)}` }),
    listDeliveries: (id, hook, filters = {}) => http.request({ method: "GET", path: `${tenant(id)}/webhooks/${seg(hook)}/deliveries`, query: { ...filters } }),
    retryDelivery: (id, hook, delivery) => http.request({ method: "POST", path: `${tenant(id)}/webhooks/${seg(hook)}/deliveries/${seg(delivery)}/retry` }),
    retryDeadDeliveries: (id, hook) => http.request({ method: "POST", path: `${tenant(id)}/webhooks/${seg(hook)}/retry-dead` }),
    sendTestWebhook: (id, hook) => http.request({ method: "POST", path: `${tenant(id)}/webhooks/${seg(hook)}/test` }),

    listAudit: (id, query = {}) => http.request({ method: "GET", path: `${tenant(id)}/audit`, query: { ...query } }),

    listIsolationMoves: (id) => http.request({ method: "GET", path: `${tenant(id)}/isolation/moves` }),
    setIsolation: (id, input) => http.request({ method: "POST", path: `${tenant(id)}/isolation`, body: input }),
  };
}
