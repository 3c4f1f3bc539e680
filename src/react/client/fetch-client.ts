/**
 * StratumAdminClient over `fetch` against the control plane's /api/v1 routes.
 *
 * It reuses the SDK's transport (error bodies become StratumError with the server's code,
 * unreachable servers StratumTransportError) but not the SDK client itself, whose middleware
 * modules are server-side code a browser bundle should not pull in.
 */
import { createTransport, seg } from "../../sdk/http.js";
import type { StratumAdminClient } from "./types.js";

export interface FetchAdminClientOptions {
  /** Where the control plane (or a proxy in front of it) listens, with or without /api/v1. */
  controlPlaneUrl: string;
  /** Sent as X-API-Key. In a browser prefer a proxy that adds the key server-side. */
  apiKey: string;
  /** A fetch implementation; default the global one. */
  fetch?: typeof fetch;
  /** Per attempt, default 10 000 ms. */
  timeoutMs?: number;
}

export function createFetchAdminClient(options: FetchAdminClientOptions): StratumAdminClient {
  const http = createTransport({
    controlPlaneUrl: options.controlPlaneUrl,
    apiKey: options.apiKey,
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
  };
}
