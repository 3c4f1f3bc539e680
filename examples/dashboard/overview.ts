/**
 * The MSP view: per-client ticket counts under a tenant, from one read-only descendants scope
 * (`$tenant(id, { descendants: "same-database" })`) — grouped queries over the subtree's homes in
 * the main database (shared tables and tenant schemas).
 *
 * A client in a database of its own cannot join that statement (plain `descendants: true` refuses
 * with DESCENDANTS_OUT_OF_REACH), so "same-database" leaves it out and its counts come from its
 * own scope instead; the row says which (`via`), rather than silently showing zero.
 */
import type { IsolationStrategyName, Tenant } from "../../src/index.js";
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
  open: number;
  closed: number;
  total: number;
  via: "descendants" | "own_scope";
}

export interface Overview {
  tenant: { id: string; name: string };
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

export async function ticketOverview(prisma: DashboardPrisma, tenantId: string): Promise<Overview> {
  const [self, descendants, inView] = await Promise.all([
    prisma.$stratum.getTenant(tenantId),
    prisma.$stratum.getDescendants(tenantId),
    viewCounts(prisma, tenantId),
  ]);
  const countsOf = async (t: Tenant) =>
    t.isolation_strategy !== "DATABASE" ? { ...(inView.get(t.id) ?? { total: 0, closed: 0 }), via: "descendants" as const } : { ...(await ownCounts(prisma, t.id)), via: "own_scope" as const };

  const clients: TenantTicketCounts[] = [];
  for (const t of descendants) {
    const c = await countsOf(t);
    clients.push({
      tenant_id: t.id,
      name: t.name,
      parent_id: t.parent_id,
      depth: t.depth - self.depth,
      isolation_strategy: t.isolation_strategy,
      open: c.total - c.closed,
      closed: c.closed,
      total: c.total,
      via: c.via,
    });
  }
  const own = await countsOf(self);
  const closed = clients.reduce((n, c) => n + c.closed, own.closed);
  const total = clients.reduce((n, c) => n + c.total, own.total);
  return { tenant: { id: self.id, name: self.name }, clients, totals: { open: total - closed, closed, total } };
}
