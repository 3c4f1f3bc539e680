/**
 * /tenants/:id/config: inherited config. `resolve` is cached; a write at a tenant changes what
 * its whole subtree resolves, so it drops the subtree's resolved config.
 */
import type { SdkCache } from "../cache.js";
import { seg, type Transport } from "../http.js";
import type {
  ConfigBatchEntry,
  ConfigBatchOutcome,
  ConfigDiff,
  ConfigRecord,
  JsonValue,
  ResolvedConfig,
  ResolvedConfigEntry,
  SetConfigInput,
} from "../types.js";

export interface ConfigApi {
  /** Every key the tenant sees, with where each value comes from. Cached. */
  resolve(tenantId: string): Promise<ResolvedConfig>;
  /** One resolved key; CONFIG_NOT_FOUND when the tenant sees no value. */
  resolveKey(tenantId: string, key: string): Promise<ResolvedConfigEntry<unknown>>;
  /** The tenant's own values, without inheritance. */
  get(tenantId: string): Promise<Record<string, ConfigRecord>>;
  set(tenantId: string, key: string, input: SetConfigInput<JsonValue>): Promise<ConfigRecord>;
  /** Each key succeeds or fails on its own; see `results`. */
  batch(tenantId: string, entries: ConfigBatchEntry[]): Promise<ConfigBatchOutcome>;
  delete(tenantId: string, key: string): Promise<void>;
  diff(tenantA: string, tenantB: string): Promise<ConfigDiff>;
}

export function configApi(http: Transport, cache: SdkCache): ConfigApi {
  const base = (tenantId: string) => `/tenants/${seg(tenantId)}`;
  async function write<T>(tenantId: string, run: () => Promise<T>): Promise<T> {
    cache.invalidateSubtree(tenantId, ["config"]);
    try {
      return await run();
    } finally {
      cache.invalidateSubtree(tenantId, ["config"]);
    }
  }

  return {
    resolve: (tenantId) => cache.read("config", tenantId, () => http.request<ResolvedConfig>({ method: "GET", path: `${base(tenantId)}/config` })),
    resolveKey: (tenantId, key) => http.request({ method: "GET", path: `${base(tenantId)}/config/${seg(key)}` }),
    get: (tenantId) => http.request({ method: "GET", path: `${base(tenantId)}/config-entries` }),
    set: (tenantId, key, input) => write(tenantId, () => http.request({ method: "PUT", path: `${base(tenantId)}/config/${seg(key)}`, body: input })),
    batch: (tenantId, entries) => write(tenantId, () => http.request({ method: "PATCH", path: `${base(tenantId)}/config`, body: { entries } })),
    delete: (tenantId, key) => write(tenantId, () => http.request<void>({ method: "DELETE", path: `${base(tenantId)}/config/${seg(key)}` })),
    diff: (tenantA, tenantB) => http.request({ method: "GET", path: `${base(tenantA)}/config-diff/${seg(tenantB)}` }),
  };
}
