/**
 * Picks a tenant's strategy and builds its scope. Tenant routes are cached briefly; any change to
 * a tenant (status, strategy, placement) calls `forget`, and other processes hear of it through
 * the change bus, so a moved tenant is never routed to its old home for long — and the old home
 * is emptied only after the route flipped, so a stale route finds no rows rather than old ones.
 */
import { StratumError } from "../core/errors.js";
import { assertTenantId } from "../core/validate.js";
import type { IsolationStrategyName } from "../core/types.js";
import { type DescendantSources, descendantSources, homeBatchSize, type SubtreeMember, type TableColumns } from "./descendants.js";
import type { TenantScope } from "./scope.js";
import type { IsolationStrategy, ScopeRequest, TenantRoute } from "./strategy.js";

export interface RouterOptions {
  strategies: Record<IsolationStrategyName, IsolationStrategy>;
  load: (tenantId: string) => Promise<TenantRoute | null>;
  /**
   * Many routes in one query (absent ids: gone). With it, expired routes are refreshed together —
   * one query per TTL for every route this process holds — rather than one query per tenant.
   */
  loadMany?: (tenantIds: string[]) => Promise<TenantRoute[]>;
  sign: (tenantId: string, mode: "s" | "d") => string;
  ttlMs?: number;
  /** The live members of a tenant's subtree, itself included (for the descendants view). */
  loadSubtree?: (tenantId: string) => Promise<SubtreeMember[]>;
  /** Tenant tables and their columns, for a descendants view spanning several homes. */
  tables?: readonly TableColumns[];
}

interface RouteEntry {
  route: Promise<TenantRoute | null>;
  at: number;
  value?: TenantRoute | null;
  refreshing?: boolean;
  /**
   * The scopes built from `value`, by mode and read-only flag (all a strategy's scope depends
   * on); a reloaded route is a new entry. Every scoped statement asks for a scope: building it
   * (and its token's cache key) each time showed in the scoped read's profile.
   */
  scopes?: Array<TenantScope | undefined>;
}

export class IsolationRouter {
  private readonly routes = new Map<string, RouteEntry>();
  /** Subtrees for descendants views; any tenant change may alter an ancestor's, so any forget clears them all. */
  private readonly subtrees = new Map<string, { members: Promise<SubtreeMember[]>; at: number; value?: SubtreeMember[] }>();
  private readonly frozen = new Set<string>();
  /** Per cached subtree (its members array): the descendants sources built from it, by acrossHomes's key. */
  private readonly sources = new WeakMap<SubtreeMember[], Map<string, DescendantSources | null>>();
  private refreshingAll = false;

  constructor(private readonly options: RouterOptions) {}

  strategy(name: IsolationStrategyName): IsolationStrategy {
    return this.options.strategies[name];
  }

  private get ttl(): number {
    return this.options.ttlMs ?? 5_000;
  }

  private load(tenantId: string): RouteEntry {
    const entry: RouteEntry = { route: this.options.load(tenantId), at: Date.now() };
    this.routes.set(tenantId, entry);
    entry.route.then(
      (value) => (entry.value = value),
      () => this.routes.get(tenantId) === entry && this.routes.delete(tenantId),
    );
    return entry;
  }

  /**
   * An expired route keeps serving while a fresh one loads behind it (changes made in this
   * process call `forget` and take effect at once; other processes' changes arrive through the
   * change bus, or within the TTL).
   */
  private refresh(tenantId: string, stale: RouteEntry): void {
    if (this.options.loadMany) return this.refreshAll();
    if (stale.refreshing) return;
    stale.refreshing = true;
    const next: RouteEntry = { route: this.options.load(tenantId), at: Date.now() };
    next.route.then(
      (value) => {
        next.value = value;
        if (this.routes.get(tenantId) === stale) this.routes.set(tenantId, next);
      },
      () => (stale.refreshing = false),
    );
  }

  /**
   * Reloads, in one query, every cached route past half its TTL: with many tenants in use, their
   * routes then expire and refresh together instead of costing a query each (300 tenants at a
   * 5 s TTL were 60 queries a second). A route forgotten or reloaded meanwhile is left alone.
   */
  private refreshAll(): void {
    if (this.refreshingAll) return;
    this.refreshingAll = true;
    const started = Date.now();
    const due = [...this.routes].filter(([, e]) => e.value !== undefined && started - e.at > this.ttl / 2);
    this.options.loadMany!(due.map(([id]) => id))
      .then((rows) => {
        const fresh = new Map(rows.map((r) => [r.id, r]));
        for (const [id, entry] of due) {
          if (this.routes.get(id) !== entry) continue;
          const value = fresh.get(id) ?? null;
          this.routes.set(id, { route: Promise.resolve(value), at: Date.now(), value });
        }
      })
      .catch(() => undefined)
      .finally(() => (this.refreshingAll = false));
  }

  async route(tenantId: string): Promise<TenantRoute> {
    const cached = this.routes.get(tenantId);
    if (!cached) assertTenantId(tenantId); // every cached id passed this check when it was loaded
    let route: TenantRoute | null | undefined;
    if (!cached) route = await this.load(tenantId).route;
    else if (cached.value !== undefined) {
      if (Date.now() - cached.at > this.ttl) this.refresh(tenantId, cached);
      route = cached.value;
    } else route = await cached.route;
    if (!route) {
      this.routes.delete(tenantId);
      throw new StratumError("TENANT_NOT_FOUND", `Tenant ${tenantId} does not exist. Check the id, or create it with prisma.$stratum.createTenant().`, {
        tenantId,
      });
    }
    return route;
  }

  async scope(tenantId: string, request: ScopeRequest & { write: boolean }): Promise<TenantScope> {
    const route = await this.route(tenantId);
    const entry = this.routes.get(tenantId);
    const scope = this.scopeOf(tenantId, route, request, entry?.value === route ? entry : undefined);
    if (request.mode !== "d" || !this.options.loadSubtree) return scope;
    return this.acrossHomes(scope, await this.subtree(tenantId), request);
  }

  private subtree(tenantId: string): Promise<SubtreeMember[]> {
    const cached = this.subtrees.get(tenantId);
    if (cached && Date.now() - cached.at <= this.ttl) return cached.members;
    const entry: { members: Promise<SubtreeMember[]>; at: number; value?: SubtreeMember[] } = { members: this.options.loadSubtree!(tenantId), at: Date.now() };
    this.subtrees.set(tenantId, entry);
    entry.members.then(
      (value) => (entry.value = value),
      () => this.subtrees.get(tenantId) === entry && this.subtrees.delete(tenantId),
    );
    return entry.members;
  }

  /**
   * A descendants scope, reading every home of the subtree that its database holds. The sources
   * are built once per cached subtree: over 1,000 homes they are megabytes of SQL text, and
   * building them on every call cost more Node CPU than the call's 20 statements.
   */
  private acrossHomes(scope: TenantScope, members: SubtreeMember[], request: ScopeRequest): TenantScope {
    const sameDatabaseOnly = request.sameDatabaseOnly === true;
    const key = `${sameDatabaseOnly}:${homeBatchSize()}`;
    let built = this.sources.get(members);
    if (!built) this.sources.set(members, (built = new Map()));
    let sources = built.get(key);
    if (sources === undefined) {
      const root = members.find((m) => m.id === scope.tenantId);
      sources = (root && descendantSources(root, members, this.options.tables ?? [], sameDatabaseOnly)) || null;
      built.set(key, sources);
    }
    return sources ? { ...scope, ...sources } : scope;
  }

  /** The scope from a fresh cached route without waiting, or undefined (then use `scope`). */
  cachedScope(tenantId: string, request: ScopeRequest & { write: boolean }): TenantScope | undefined {
    const cached = this.routes.get(tenantId);
    if (!cached?.value) return undefined;
    if (Date.now() - cached.at > this.ttl) this.refresh(tenantId, cached);
    const scope = this.scopeOf(tenantId, cached.value, request, cached);
    if (request.mode !== "d" || !this.options.loadSubtree) return scope;
    const subtree = this.subtrees.get(tenantId);
    if (!subtree?.value || Date.now() - subtree.at > this.ttl) return undefined;
    return this.acrossHomes(scope, subtree.value, request);
  }

  private scopeOf(tenantId: string, route: TenantRoute, request: ScopeRequest & { write: boolean }, entry?: RouteEntry): TenantScope {
    if (route.status === "archived") {
      throw new StratumError("TENANT_ARCHIVED", `Tenant ${tenantId} is archived; restore it with prisma.$stratum.restoreTenant() to query its data.`, {
        tenantId,
      });
    }
    if (route.status === "suspended" && request.write) {
      throw new StratumError("TENANT_SUSPENDED", `Tenant ${tenantId} is suspended; its data is read-only until it is restored.`, { tenantId });
    }
    if (request.write && this.frozen.has(tenantId)) {
      throw new StratumError(
        "ISOLATION_MOVE_IN_PROGRESS",
        `Tenant ${tenantId} is moving between isolation strategies; writes are frozen until the move finishes. Retry shortly.`,
        { tenantId },
      );
    }
    const slot = (request.mode === "d" ? 2 : 0) + (request.readOnly ? 1 : 0);
    const built = entry?.scopes?.[slot];
    if (built) return built;
    const scope = this.strategy(route.isolation_strategy).scope(route, { mode: request.mode, readOnly: request.readOnly }, this.options.sign);
    if (entry) (entry.scopes ??= [])[slot] = scope;
    return scope;
  }

  /**
   * Re-reads the tenant's route from the database and says whether `scope` still addresses its
   * home; a changed route replaces the cached one. Used after a statement that may have raced a
   * move (route-guard.ts).
   */
  async moved(scope: TenantScope): Promise<boolean> {
    const fresh = await this.options.load(scope.tenantId);
    if (!fresh) return false;
    const now = this.strategy(fresh.isolation_strategy).scope(fresh, { mode: scope.mode === "d" ? "d" : "s", readOnly: scope.readOnly }, this.options.sign);
    const same = now.strategy === scope.strategy && now.placement === scope.placement && now.searchPath === scope.searchPath;
    if (!same) {
      this.routes.set(scope.tenantId, { route: Promise.resolve(fresh), at: Date.now(), value: fresh });
      this.subtrees.clear();
    }
    return !same;
  }

  forget(tenantId?: string): void {
    if (tenantId) this.routes.delete(tenantId);
    else this.routes.clear();
    this.subtrees.clear();
  }

  freeze(tenantId: string): void {
    this.frozen.add(tenantId);
  }

  thaw(tenantId: string): void {
    this.frozen.delete(tenantId);
  }
}
