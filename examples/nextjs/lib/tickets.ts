/**
 * The app's data functions. Plain TypeScript, no `next/*` imports, so server actions, scripts and
 * tests share them. Each takes the client and, optionally, the tenant id; without one they use
 * the tenant entered with `runWithTenant` (what the server actions do), and without either they
 * fail closed with NO_TENANT_CONTEXT.
 */
import { currentTenant, StratumError, type IsolationStrategyName } from "../../../src/index.js";
import type { StratumPrisma } from "./stratum.js";

// The repository's Ticket model has no status column (its schema serves the library's own tests),
// so a title prefix marks a closed ticket. In your app, give the model a `status` field instead.
export const CLOSED_MARK = "[closed] ";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export type TicketStatus = "open" | "closed";

export interface TicketView {
  id: string;
  title: string;
  status: TicketStatus;
  author_email: string;
  created_at: Date;
}

export interface NewTicket {
  title: string;
  /** The author, created in the tenant on first use. */
  authorEmail: string;
}

/** The tenant given, else the one entered with runWithTenant; never a default. */
function tenantIdOf(tenantId?: string): string {
  const id = tenantId ?? currentTenant()?.tenantId;
  if (!id) throw new StratumError("NO_TENANT_CONTEXT", "No tenant: pass a tenant id or run inside runWithTenant(id, fn).");
  return id;
}

function view(row: { id: string; title: string; created_at: Date; author: { email: string } }): TicketView {
  const closed = row.title.startsWith(CLOSED_MARK);
  return {
    id: row.id,
    title: closed ? row.title.slice(CLOSED_MARK.length) : row.title,
    status: closed ? "closed" : "open",
    author_email: row.author.email,
    created_at: row.created_at,
  };
}

const withAuthor = { author: { select: { email: true } } } as const;

export async function listTickets(db: StratumPrisma, tenantId?: string): Promise<TicketView[]> {
  const rows = await db.$tenant(tenantIdOf(tenantId)).ticket.findMany({ include: withAuthor, orderBy: { created_at: "desc" }, take: 200 });
  return rows.map(view);
}

export async function createTicket(db: StratumPrisma, input: NewTicket, tenantId?: string): Promise<TicketView> {
  const id = tenantIdOf(tenantId);
  const title = input.title.trim();
  const email = input.authorEmail.trim().toLowerCase();
  if (!title || title.length > 200) throw new StratumError("VALIDATION_FAILED", "A ticket needs a title of 1 to 200 characters.");
  if (title.startsWith(CLOSED_MARK.trim())) throw new StratumError("VALIDATION_FAILED", `A title cannot start with ${CLOSED_MARK.trim()}.`);
  if (!EMAIL.test(email)) throw new StratumError("VALIDATION_FAILED", "The author needs an email address.");
  // One tenant, one transaction: the author and the ticket are written together or not at all.
  return db.$tenant(id).$transaction(async (tx) => {
    const author = await tx.user.upsert({
      where: { tenant_id_email: { tenant_id: id, email } },
      create: { tenant_id: id, email },
      update: {},
    });
    return view(await tx.ticket.create({ data: { tenant_id: id, title, author_id: author.id }, include: withAuthor }));
  });
}

/** Another tenant's ticket id is NOT_FOUND here, exactly like an id that does not exist. */
export async function closeTicket(db: StratumPrisma, ticketId: string, tenantId?: string): Promise<TicketView> {
  const scoped = db.$tenant(tenantIdOf(tenantId));
  const missing = () => new StratumError("NOT_FOUND", `Ticket ${ticketId} does not exist.`);
  if (!UUID.test(ticketId)) throw missing();
  const ticket = await scoped.ticket.findUnique({ where: { id: ticketId }, include: withAuthor });
  if (!ticket) throw missing();
  if (ticket.title.startsWith(CLOSED_MARK)) return view(ticket);
  return view(await scoped.ticket.update({ where: { id: ticketId }, data: { title: CLOSED_MARK + ticket.title }, include: withAuthor }));
}

/**
 * The MSP's read-only window over its own and its descendants' rows in the main database (shared
 * tables and tenant schemas); clients in databases of their own are left out, not refused.
 */
export function mspView(db: StratumPrisma, mspId: string) {
  return db.$tenant(mspId, { descendants: "same-database" });
}

export interface TenantTickets {
  tenant_id: string;
  name: string;
  depth: number;
  isolation_strategy: IsolationStrategyName;
  /** Null for tenants in a database of their own: the descendants view cannot reach them in one statement. */
  open: number | null;
  closed: number | null;
}

export interface MspOverview {
  tenant_id: string;
  /** The MSP itself first, then its descendants depth-first. */
  tenants: TenantTickets[];
  totals: { open: number; closed: number; total: number };
}

export async function mspOverview(db: StratumPrisma, mspId: string): Promise<MspOverview> {
  const scoped = mspView(db, mspId);
  const [all, closed, self, descendants] = await Promise.all([
    scoped.ticket.groupBy({ by: ["tenant_id"], _count: { _all: true } }),
    scoped.ticket.groupBy({ by: ["tenant_id"], where: { title: { startsWith: CLOSED_MARK } }, _count: { _all: true } }),
    db.$stratum.getTenant(mspId),
    db.$stratum.getDescendants(mspId),
  ]);
  const countOf = (rows: typeof all, id: string) => rows.find((r) => r.tenant_id === id)?._count._all ?? 0;
  const tenants = [self, ...descendants].map((t): TenantTickets => {
    const inView = t.isolation_strategy !== "DATABASE";
    const total = countOf(all, t.id);
    const done = countOf(closed, t.id);
    return {
      tenant_id: t.id,
      name: t.name,
      depth: t.depth - self.depth,
      isolation_strategy: t.isolation_strategy,
      open: inView ? total - done : null,
      closed: inView ? done : null,
    };
  });
  const open = tenants.reduce((n, t) => n + (t.open ?? 0), 0);
  const closedTotal = tenants.reduce((n, t) => n + (t.closed ?? 0), 0);
  return { tenant_id: mspId, tenants, totals: { open, closed: closedTotal, total: open + closedTotal } };
}
