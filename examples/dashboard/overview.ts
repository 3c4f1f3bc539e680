/**
 * The MSP view: per-client ticket counts under a tenant, from one read-only descendants scope
 * (`$tenant(id, { descendants: "same-database" })`) — grouped queries over the subtree's homes in
 * the main database (shared tables and tenant schemas).
 *
 * A client in a database of its own cannot join that statement (plain `descendants: true` refuses
 * with DESCENDANTS_OUT_OF_REACH), so "same-database" leaves it out and its counts come from its
 * own scope instead; the row says which (`via`), rather than silently showing zero.
 */
import type { IsolationStrategyName, Tenant, TenantStatus } from "../../src/index.js";
import type { DashboardPrisma } from "./db.js";

// The repository's Ticket model has no status column (its schema serves the library's tests), so a
// title prefix marks a closed ticket. In your app, give the model a `status` field.
export const CLOSED_MARK = "[closed] ";

export interface TenantTicketCounts {
  tenant_id: string;
  name: string;
  parent_id: string | null;
  /** Depth below the tenant asked about (its children are 1). */
  depth: number;
  isolation_strategy: IsolationStrategyName;
  status: TenantStatus;
  /** Config keys the client sets itself over a value it would inherit (e.g. its own max_users). */
  overrides: string[];
  open: number;
  closed: number;
  total: number;
  via: "descendants" | "own_scope";
}

/** A key locked on the tenant's chain: descendants cannot override it. */
export interface LockedKey {
  key: string;
  locked_by: { id: string; name: string };
}

export interface Overview {
  tenant: { id: string; name: string };
  /** Keys locked for this tenant, and by whom ("who locked theme?"). */
  locked: LockedKey[];
  /** The tenant's descendants, depth-first. */
  clients: TenantTicketCounts[];
  /** The tenant's own tickets plus every client's. */
  totals: { open: number; closed: number; total: number };
}

type Counts = Map<string, { total: number; closed: number }>;

async function viewCounts(prisma: DashboardPrisma, tenantId: string): Promise<Counts> {
  const view = prisma.$tenant(tenantId, { descendants: "same-database" });
  const [all, closed] = await Promise.all([
    view.ticket.groupBy({ by: ["tenant_id"], _count: { _all: true } }),
    view.ticket.groupBy({ by: ["tenant_id"], where: { title: { startsWith: CLOSED_MARK } }, _count: { _all: true } }),
  ]);
  const counts: Counts = new Map(all.map((r) => [r.tenant_id, { total: r._count._all, closed: 0 }]));
  for (const r of closed) counts.get(r.tenant_id)!.closed = r._count._all;
  return counts;
}

async function ownCounts(prisma: DashboardPrisma, tenantId: string): Promise<{ total: number; closed: number }> {
  const scoped = prisma.$tenant(tenantId);
  const [total, closed] = await Promise.all([scoped.ticket.count(), scoped.ticket.count({ where: { title: { startsWith: CLOSED_MARK } } })]);
  return { total, closed };
}

/** The keys a tenant sets itself that it would otherwise inherit. */
async function overridesOf(prisma: DashboardPrisma, t: Tenant): Promise<string[]> {
  if (!t.parent_id) return [];
  const [own, inherited] = await Promise.all([prisma.$stratum.getConfig(t.id), prisma.$stratum.resolveConfig(t.parent_id)]);
  return Object.keys(own)
    .filter((k) => k in inherited)
    .sort();
}

async function lockedKeys(prisma: DashboardPrisma, self: Tenant): Promise<LockedKey[]> {
  const [resolved, ancestors] = await Promise.all([prisma.$stratum.resolveConfig(self.id), prisma.$stratum.getAncestors(self.id)]);
  const names = new Map([...ancestors, self].map((t) => [t.id, t.name]));
  const out: LockedKey[] = [];
  for (const [key, e] of Object.entries(resolved)) {
    if (e?.locked) out.push({ key, locked_by: { id: e.source_tenant_id, name: names.get(e.source_tenant_id) ?? e.source_tenant_id } });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

export async function ticketOverview(prisma: DashboardPrisma, tenantId: string): Promise<Overview> {
  const [self, descendants, inView] = await Promise.all([
    prisma.$stratum.getTenant(tenantId),
    prisma.$stratum.getDescendants(tenantId),
    viewCounts(prisma, tenantId),
  ]);
  const locked = await lockedKeys(prisma, self);
  const countsOf = async (t: Tenant) =>
    t.isolation_strategy !== "DATABASE"
      ? { ...(inView.get(t.id) ?? { total: 0, closed: 0 }), via: "descendants" as const }
      : { ...(await ownCounts(prisma, t.id)), via: "own_scope" as const };

  const clients: TenantTicketCounts[] = [];
  for (const t of descendants) {
    const c = await countsOf(t);
    clients.push({
      tenant_id: t.id,
      name: t.name,
      parent_id: t.parent_id,
      depth: t.depth - self.depth,
      isolation_strategy: t.isolation_strategy,
      status: t.status,
      overrides: await overridesOf(prisma, t),
      open: c.total - c.closed,
      closed: c.closed,
      total: c.total,
      via: c.via,
    });
  }
  const own = await countsOf(self);
  const closed = clients.reduce((n, c) => n + c.closed, own.closed);
  const total = clients.reduce((n, c) => n + c.total, own.total);
  return { tenant: { id: self.id, name: self.name }, locked, clients, totals: { open: total - closed, closed, total } };
}
