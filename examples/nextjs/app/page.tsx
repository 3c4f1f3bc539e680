/**
 * The tenant's tickets (server component). Without a tenant it shows a picker, the demo's
 * stand-in for a login; a tenant with descendants also gets its MSP overview.
 */
import { headers } from "next/headers";
import { getPrisma } from "../lib/stratum";
import { appTenantResolver, isStratumRefusal, type ResolvedTenant } from "../lib/tenant";
import { listTickets, mspOverview, type MspOverview } from "../lib/tickets";
import { chooseTenantAction, forgetTenantAction } from "./actions";
import { CloseButton, TicketForm } from "./ticket-form";

// Every request has its own tenant: never prerender or cache this page.
export const dynamic = "force-dynamic";

async function TenantPicker({ problem }: { problem: string }) {
  const { data } = await getPrisma().$stratum.listTenants({ limit: 100 });
  return (
    <main>
      <h1>Pick a tenant</h1>
      <p>{problem}</p>
      <form action={chooseTenantAction}>
        <select name="tenant_id">
          {data.map((t) => (
            <option key={t.id} value={t.id}>
              {"— ".repeat(t.depth)}
              {t.name}
            </option>
          ))}
        </select>{" "}
        <button>Act as this tenant</button>
      </form>
    </main>
  );
}

function Overview({ overview }: { overview: MspOverview }) {
  return (
    <section>
      <h2>MSP view (read-only, descendants included)</h2>
      <table>
        <thead>
          <tr>
            <th align="left">Tenant</th>
            <th>Open</th>
            <th>Closed</th>
          </tr>
        </thead>
        <tbody>
          {overview.tenants.map((t) => (
            <tr key={t.tenant_id}>
              <td style={{ paddingLeft: `${t.depth}rem` }}>{t.name}</td>
              <td align="center">{t.open ?? `— (${t.isolation_strategy})`}</td>
              <td align="center">{t.closed ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        Total: {overview.totals.open} open, {overview.totals.closed} closed
      </p>
    </section>
  );
}

export default async function Page() {
  const prisma = getPrisma();
  let tenant: ResolvedTenant;
  try {
    tenant = await appTenantResolver(prisma)(await headers());
  } catch (error) {
    if (isStratumRefusal(error)) return <TenantPicker problem={`${error.code}: ${error.message}`} />;
    throw error;
  }
  const [tickets, overview] = await Promise.all([listTickets(prisma, tenant.tenant_id), mspOverview(prisma, tenant.tenant_id)]);
  return (
    <main>
      <h1>{tenant.name}</h1>
      <form action={forgetTenantAction}>
        <small>
          {tenant.isolation_strategy} · {tenant.tenant_id}{" "}
        </small>
        <button>Switch tenant</button>
      </form>
      <h2>Tickets</h2>
      <TicketForm />
      <ul>
        {tickets.map((t) => (
          <li key={t.id}>
            {t.status === "closed" ? <s>{t.title}</s> : t.title} <small>by {t.author_email}</small> {t.status === "open" ? <CloseButton id={t.id} /> : null}
          </li>
        ))}
      </ul>
      {overview.tenants.length > 1 ? <Overview overview={overview} /> : null}
    </main>
  );
}
