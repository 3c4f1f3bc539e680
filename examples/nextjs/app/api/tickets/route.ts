/**
 * The same data over HTTP, for curl: GET lists the tenant's tickets, POST {title, email} creates
 * one, GET ?view=msp answers the MSP overview. The tenant comes from X-Tenant-ID (or the cookie).
 */
import { getPrisma } from "../../../lib/stratum";
import { appTenantResolver, isStratumRefusal, type ResolvedTenant } from "../../../lib/tenant";
import { createTicket, listTickets, mspOverview } from "../../../lib/tickets";

export const dynamic = "force-dynamic";

async function answer(request: Request, fn: (tenant: ResolvedTenant) => Promise<unknown>, status = 200): Promise<Response> {
  try {
    const tenant = await appTenantResolver(getPrisma())(request.headers);
    return Response.json(await fn(tenant), { status });
  } catch (error) {
    if (!isStratumRefusal(error)) throw error;
    const refused = Number(error.details?.["http_status"]);
    const code = Number.isInteger(refused) ? refused : error.code === "VALIDATION_FAILED" ? 400 : error.code === "NOT_FOUND" ? 404 : 500;
    return Response.json({ error: { code: error.code, message: error.message } }, { status: code });
  }
}

export async function GET(request: Request): Promise<Response> {
  const msp = new URL(request.url).searchParams.get("view") === "msp";
  return answer(request, (t) => (msp ? mspOverview(getPrisma(), t.tenant_id) : listTickets(getPrisma(), t.tenant_id)));
}

export async function POST(request: Request): Promise<Response> {
  const body = (await request.json().catch(() => ({}))) as { title?: unknown; email?: unknown };
  return answer(request, (t) => createTicket(getPrisma(), { title: String(body.title ?? ""), authorEmail: String(body.email ?? "") }, t.tenant_id), 201);
}
