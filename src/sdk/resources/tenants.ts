/** /tenants: the tree. Reads of one tenant are cached; every write drops the tenant's subtree. */
import type { SdkCache } from "../cache.js";
import { seg, type Transport } from "../http.js";
import type { CreateTenantInput, ListTenantsQuery, ResolvedConfig, ResolvedPermissions, TenantPage, TenantRecord, UpdateTenantInput } from "../types.js";

export interface TenantsApi {
  create(input: CreateTenantInput): Promise<TenantRecord>;
  /** Cached. */
  get(id: string): Promise<TenantRecord>;
  getBySlug(slug: string): Promise<TenantRecord>;
  list(query?: ListTenantsQuery): Promise<TenantPage>;
  children(id: string): Promise<TenantRecord[]>;
  /** Root first. */
  ancestors(id: string): Promise<TenantRecord[]>;
  /** Depth-first. */
  descendants(id: string): Promise<TenantRecord[]>;
  /** Descendants depth-first, one page: pass `next_cursor` back as `cursor` until it is null. */
  descendantsPage(id: string, options?: { limit?: number; cursor?: string }): Promise<TenantPage>;
  /** Ancestors root first, one page. */
  ancestorsPage(id: string, options?: { limit?: number; cursor?: string }): Promise<TenantPage>;
  /** The root of the tenant's tree (for a tenant key: the top of what it sees). */
  root(id: string): Promise<TenantRecord>;
  /** A new slug; nothing is renamed or moved (homes are named from the id). */
  changeSlug(id: string, slug: string): Promise<TenantRecord>;
  /** Renames the tenant or replaces its metadata. */
  update(id: string, patch: UpdateTenantInput): Promise<TenantRecord>;
  /** Moves the tenant and its subtree under `parentId` (null: to the top). */
  move(id: string, parentId: string | null): Promise<TenantRecord>;
  suspend(id: string): Promise<TenantRecord>;
  archive(id: string): Promise<TenantRecord>;
  restore(id: string): Promise<TenantRecord>;
  /** With `cascade`, the whole subtree; answers the deleted ids. */
  delete(id: string, options?: { cascade?: boolean }): Promise<{ deleted: string[] }>;
  /** Up to 100 tenants, each on its own: a result per item, in order. */
  createMany(tenants: CreateTenantInput[]): Promise<TenantBatchResult>;
  /** Tenant, resolved config and permissions, isolation: what a request-scoped middleware needs. */
  context(id: string): Promise<TenantContext>;
}

export interface TenantBatchResult {
  results: Array<{ index: number; ok: boolean; tenant?: TenantRecord; error?: { code: string; message: string } }>;
  created: number;
  failed: number;
}

export interface TenantContext {
  tenant: TenantRecord;
  config: ResolvedConfig;
  permissions: ResolvedPermissions;
  isolation: { strategy: TenantRecord["isolation_strategy"]; placement: string | null };
}

export function tenantsApi(http: Transport, cache: SdkCache): TenantsApi {
  const remember = <T extends TenantRecord | TenantRecord[]>(result: T): T => {
    for (const tenant of Array.isArray(result) ? result : [result]) cache.rememberPath(tenant);
    return result;
  };
  const write = async (id: string, run: () => Promise<TenantRecord>): Promise<TenantRecord> => {
    cache.invalidateSubtree(id);
    let result: TenantRecord;
    try {
      result = await run();
    } finally {
      // Again after the answer: a read racing the write may have cached the old state meanwhile.
      cache.invalidateSubtree(id);
    }
    return remember(result);
  };
  const read = (path: string) => http.request<TenantRecord[]>({ method: "GET", path }).then(remember);
  const readPage = async (path: string, options: { limit?: number; cursor?: string }) => {
    const page = await http.request<TenantPage>({ method: "GET", path, query: { limit: options.limit, cursor: options.cursor } });
    remember(page.data);
    return page;
  };

  return {
    create: (input) => http.request<TenantRecord>({ method: "POST", path: "/tenants", body: input }).then(remember),
    get: (id) => cache.read("tenant", id, () => http.request<TenantRecord>({ method: "GET", path: `/tenants/${seg(id)}` }).then(remember)),
    getBySlug: (slug) => http.request<TenantRecord>({ method: "GET", path: `/tenants/by-slug/${seg(slug)}` }).then(remember),
    list: async (query = {}) => {
      const page = await http.request<TenantPage>({ method: "GET", path: "/tenants", query: { ...query } });
      remember(page.data);
      return page;
    },
    children: (id) => read(`/tenants/${seg(id)}/children`),
    ancestors: (id) => read(`/tenants/${seg(id)}/ancestors`),
    descendants: (id) => read(`/tenants/${seg(id)}/descendants`),
    descendantsPage: (id, options = {}) => readPage(`/tenants/${seg(id)}/descendants/page`, options),
    ancestorsPage: (id, options = {}) => readPage(`/tenants/${seg(id)}/ancestors/page`, options),
    root: (id) => http.request<TenantRecord>({ method: "GET", path: `/tenants/${seg(id)}/root` }).then(remember),
    changeSlug: (id, slug) => write(id, () => http.request({ method: "PUT", path: `/tenants/${seg(id)}/slug`, body: { slug } })),
    update: (id, patch) => write(id, () => http.request({ method: "PATCH", path: `/tenants/${seg(id)}`, body: patch })),
    move: (id, parentId) => write(id, () => http.request({ method: "POST", path: `/tenants/${seg(id)}/move`, body: { parent_id: parentId } })),
    suspend: (id) => write(id, () => http.request({ method: "POST", path: `/tenants/${seg(id)}/suspend` })),
    archive: (id) => write(id, () => http.request({ method: "POST", path: `/tenants/${seg(id)}/archive` })),
    restore: (id) => write(id, () => http.request({ method: "POST", path: `/tenants/${seg(id)}/restore` })),
    delete: async (id, options = {}) => {
      cache.invalidateSubtree(id);
      try {
        return await http.request<{ deleted: string[] }>({ method: "DELETE", path: `/tenants/${seg(id)}`, query: { cascade: options.cascade } });
      } finally {
        cache.invalidateSubtree(id);
      }
    },
    createMany: (tenants) => http.request({ method: "POST", path: "/tenants/batch", body: { tenants } }),
    context: (id) => http.request({ method: "GET", path: `/tenants/${seg(id)}/context` }),
  };
}
