/**
 * The demo tree: an MSSP, two MSPs, their clients, each client with users and tickets. Ticket
 * counts are fixed so the MSP view (and the tests) can be checked by hand.
 */
import type { JsonValue } from "../../src/config/types.js";
import { isStratumError, type IsolationStrategyName, type Tenant } from "../../src/index.js";
import type { DashboardPrisma } from "./db.js";
import { CLOSED_MARK } from "./overview.js";

export interface SeedClient {
  name: string;
  slug: string;
  /** Wanted strategy; SCHEMA falls back to SHARED_RLS where the database cannot host it. */
  isolation: IsolationStrategyName;
  users: string[];
  open: number;
  closed: number;
  /** Config the client sets itself (overriding what it inherits). */
  config?: Record<string, JsonValue>;
  suspended?: boolean;
}

export const ROOT = { name: "AcmeSec", slug: "acmesec" } as const;

/**
 * The quick start's hierarchy (AcmeSec → NorthStar MSP → clients) with enough clients to look
 * like a real book of business. Some clients override max_users; AcmeSec locks theme.
 */
export const SEED_TREE: ReadonlyArray<{ name: string; slug: string; config: Record<string, JsonValue>; clients: readonly SeedClient[] }> = [
  {
    name: "NorthStar MSP",
    slug: "northstar_msp",
    config: { max_users: 500, sla_hours: 8 },
    clients: [
      { name: "Client Alpha", slug: "client_alpha", isolation: "SHARED_RLS", users: ["ada", "alan"], open: 3, closed: 1, config: { max_users: 50 } },
      { name: "Client Beta", slug: "client_beta", isolation: "SCHEMA", users: ["bob"], open: 2, closed: 2 },
      {
        name: "Harbor Dental",
        slug: "harbor_dental",
        isolation: "SHARED_RLS",
        users: ["hana", "hugo", "hal"],
        open: 5,
        closed: 3,
        config: { max_users: 120, sla_hours: 4 },
      },
      { name: "Keystone Legal", slug: "keystone_legal", isolation: "SHARED_RLS", users: ["kim"], open: 0, closed: 2, suspended: true },
    ],
  },
  {
    name: "SouthWind MSP",
    slug: "southwind_msp",
    config: { max_users: 250 },
    clients: [
      { name: "Client Gamma", slug: "client_gamma", isolation: "SHARED_RLS", users: ["grace"], open: 1, closed: 2 },
      { name: "Client Delta", slug: "client_delta", isolation: "SHARED_RLS", users: ["dan", "dora"], open: 4, closed: 0, config: { max_users: 80 } },
      { name: "Pinecrest Clinic", slug: "pinecrest_clinic", isolation: "SHARED_RLS", users: ["pia", "paul"], open: 2, closed: 5 },
    ],
  },
];

/** Ticket titles a SOC would recognise; cycled per client. */
const TICKETS = [
  "EDR alert: encoded PowerShell on workstation",
  "Phishing report from finance",
  "MFA fatigue attempts on admin account",
  "Firewall rule review for VPN subnet",
  "Suspicious OAuth consent grant",
  "Patch Tuesday rollout: 14 servers pending",
  "Impossible travel sign-in",
  "Backup job failed on file server",
];

export interface SeedOptions {
  /** Seed SCHEMA clients as SCHEMA (needs stratum({ admin })); otherwise they become SHARED_RLS. */
  schemaTenants?: boolean;
  /** A configured server name: adds a DATABASE client under SouthWind MSP. */
  databaseServer?: string;
}

export interface SeedResult {
  created: boolean;
  /** Tenants by slug. */
  tenants: Record<string, Tenant>;
}

async function findRoot(prisma: DashboardPrisma): Promise<Tenant | null> {
  try {
    return await prisma.$stratum.getTenantBySlug(ROOT.slug);
  } catch (error) {
    if (isStratumError(error, "TENANT_NOT_FOUND")) return null;
    throw error;
  }
}

async function seedClient(prisma: DashboardPrisma, client: SeedClient, tenantId: string): Promise<void> {
  // One tenant, one transaction, whatever its strategy: the same code writes shared, schema and database tenants.
  await prisma.$tenant(tenantId).$transaction(async (tx) => {
    const users = [];
    for (const name of client.users) {
      users.push(await tx.user.create({ data: { tenant_id: tenantId, email: `${name}@${client.slug.replace(/_/g, "-")}.test`, name } }));
    }
    const total = client.open + client.closed;
    for (let i = 0; i < total; i++) {
      const title = `${TICKETS[i % TICKETS.length]} (#${1000 + i})`;
      await tx.ticket.create({
        data: { tenant_id: tenantId, title: i < client.closed ? CLOSED_MARK + title : title, author_id: users[i % users.length]!.id },
      });
    }
  });
}

/** Seeds the tree unless the root exists already (then returns what is there). */
export async function seedDashboard(prisma: DashboardPrisma, options: SeedOptions = {}): Promise<SeedResult> {
  const s = prisma.$stratum;
  const existing = await findRoot(prisma);
  if (existing) {
    const all = [existing, ...(await s.getDescendants(existing.id))];
    return { created: false, tenants: Object.fromEntries(all.map((t) => [t.slug, t])) };
  }
  const tenants: Record<string, Tenant> = {};
  const root = (tenants[ROOT.slug] = await s.createTenant({ ...ROOT, isolation_strategy: "SHARED_RLS" }));
  await s.setConfig(root.id, "max_users", { value: 1000, locked: false });
  await s.setConfig(root.id, "theme", { value: "dark", locked: true });
  await s.setConfig(root.id, "sla_hours", { value: 24 });
  await s.setConfig(root.id, "data_region", { value: "eu-west", locked: true });
  await s.createPermission(root.id, { key: "manage_users", value: true, mode: "LOCKED", revocation_mode: "CASCADE" });
  await s.createPermission(root.id, { key: "export_reports", value: true, mode: "DELEGATED", revocation_mode: "CASCADE" });
  await s.createPermission(root.id, { key: "siem_integration", value: true, mode: "INHERITED", revocation_mode: "SOFT" });

  const clientsOf = (msp: (typeof SEED_TREE)[number]): SeedClient[] =>
    msp.slug === "southwind_msp" && options.databaseServer
      ? [...msp.clients, { name: "Client Omega", slug: "client_omega", isolation: "DATABASE", users: ["olga"], open: 1, closed: 1 }]
      : [...msp.clients];

  for (const msp of SEED_TREE) {
    const mspTenant = (tenants[msp.slug] = await s.createTenant({ name: msp.name, slug: msp.slug, parent_id: root.id }));
    for (const [key, value] of Object.entries(msp.config)) await s.setConfig(mspTenant.id, key, { value });
    for (const client of clientsOf(msp)) {
      const strategy = client.isolation === "SCHEMA" && !options.schemaTenants ? "SHARED_RLS" : client.isolation;
      const tenant = await s.createTenant({
        name: client.name,
        slug: client.slug,
        parent_id: mspTenant.id,
        isolation_strategy: strategy,
        ...(strategy === "DATABASE" && options.databaseServer ? { server: options.databaseServer } : {}),
      });
      tenants[client.slug] = tenant;
      await seedClient(prisma, client, tenant.id);
      for (const [key, value] of Object.entries(client.config ?? {})) await s.setConfig(tenant.id, key, { value });
      if (client.suspended) tenants[client.slug] = await s.suspendTenant(tenant.id);
    }
  }
  return { created: true, tenants };
}
