/** Isolation moves, the audit trail and API keys: operator work, never cached. */
import type { SdkCache } from "../cache.js";
import { seg, type Transport } from "../http.js";
import type {
  ApiKeyRecord,
  AuditEntryRecord,
  AuditPage,
  AuditQuery,
  CreateApiKeyInput,
  CreatedApiKeyRecord,
  IsolationMoveRecord,
  IsolationMoveResult,
  ListApiKeysQuery,
  RotateApiKeyInput,
  SetIsolationInput,
} from "../types.js";

export interface IsolationApi {
  /** Moves the tenant's rows to another strategy; runs until done. */
  set(tenantId: string, input: SetIsolationInput): Promise<IsolationMoveResult>;
  moves(tenantId: string): Promise<IsolationMoveRecord[]>;
  resume(tenantId: string, options?: { server?: string }): Promise<IsolationMoveResult>;
  rollback(tenantId: string): Promise<{ tenant_id: string; rolled_back: boolean }>;
}

export interface AuditApi {
  /** The tenant's and its subtree's entries, newest first, paged by `next_cursor`. */
  list(tenantId: string, query?: AuditQuery): Promise<AuditPage>;
  /** One entry of the tenant's subtree. */
  get(tenantId: string, entryId: string): Promise<AuditEntryRecord>;
  /** The app's own event (its user as actor; actions outside stratum's namespaces). */
  append(tenantId: string, event: AppendAuditInput): Promise<AuditEntryRecord>;
  /** Every matching entry as NDJSON bytes (one JSON entry per line), newest first. */
  exportStream(tenantId: string, query?: Omit<AuditQuery, "limit" | "cursor">): Promise<ReadableStream<Uint8Array>>;
}

/** POST /tenants/{id}/audit. */
export interface AppendAuditInput {
  actor: { id: string; type?: string };
  action: string;
  resource?: { type: string; id: string };
  before?: unknown;
  after?: unknown;
  /** ISO time it happened; default now. */
  occurred_at?: string;
}

export interface ApiKeysApi {
  /** The answer holds the plaintext `key`, once. */
  create(input: CreateApiKeyInput): Promise<CreatedApiKeyRecord>;
  list(query?: ListApiKeysQuery): Promise<ApiKeyRecord[]>;
  revoke(keyId: string): Promise<ApiKeyRecord>;
  /** A new key (plaintext once) with the same name, scopes, tenant, expiry and rate limit; the old one works `grace_seconds` more. */
  rotate(keyId: string, input?: RotateApiKeyInput): Promise<{ key: CreatedApiKeyRecord; previous: ApiKeyRecord }>;
  /** Live keys unused for more than `days` (default 30) days, oldest use first. */
  dormant(query?: { days?: number; tenant_id?: string }): Promise<ApiKeyRecord[]>;
}

export function isolationApi(http: Transport, cache: SdkCache): IsolationApi {
  const base = (tenantId: string) => `/tenants/${seg(tenantId)}/isolation`;
  // The tenant record carries isolation_strategy and placement.
  async function move<T>(tenantId: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } finally {
      cache.invalidateSubtree(tenantId, ["tenant"]);
    }
  }
  return {
    set: (tenantId, input) => move(tenantId, () => http.request({ method: "POST", path: base(tenantId), body: input })),
    moves: (tenantId) => http.request({ method: "GET", path: `${base(tenantId)}/moves` }),
    resume: (tenantId, options = {}) => move(tenantId, () => http.request({ method: "POST", path: `${base(tenantId)}/resume`, body: options })),
    rollback: (tenantId) => move(tenantId, () => http.request({ method: "POST", path: `${base(tenantId)}/rollback` })),
  };
}

export function auditApi(http: Transport): AuditApi {
  return {
    list: (tenantId, query = {}) => http.request({ method: "GET", path: `/tenants/${seg(tenantId)}/audit`, query: { ...query } }),
    get: (tenantId, entryId) => http.request({ method: "GET", path: `/tenants/${seg(tenantId)}/audit/${seg(entryId)}` }),
    append: (tenantId, event) => http.request({ method: "POST", path: `/tenants/${seg(tenantId)}/audit`, body: event }),
    exportStream: (tenantId, query = {}) => http.stream({ method: "GET", path: `/tenants/${seg(tenantId)}/audit/export`, query: { ...query } }),
  };
}

export function apiKeysApi(http: Transport): ApiKeysApi {
  return {
    create: (input) => http.request({ method: "POST", path: "/api-keys", body: input }),
    list: (query = {}) => http.request({ method: "GET", path: "/api-keys", query: { ...query } }),
    revoke: (keyId) => http.request({ method: "DELETE", path: `/api-keys/${seg(keyId)}` }),
    rotate: (keyId, input = {}) => http.request({ method: "POST", path: `/api-keys/${seg(keyId)}/rotate`, body: input }),
    dormant: (query = {}) => http.request({ method: "GET", path: "/api-keys/dormant", query: { ...query } }),
  };
}
