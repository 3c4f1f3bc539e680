/**
 * The Next.js example's data and tenant functions (everything free of `next/*`), on a real
 * database through the example's own client factory, as the server actions call them.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf } from "../support/errors.js";
import { createPrisma, type StratumPrisma } from "../../examples/nextjs/lib/stratum.js";
import { localTenantResolver, runAsRequestTenant, sdkTenantResolver, TENANT_COOKIE, type TenantResolver } from "../../examples/nextjs/lib/tenant.js";
import { closeTicket, createTicket, listTickets, mspOverview, mspView } from "../../examples/nextjs/lib/tickets.js";
import { runWithTenant } from "../../src/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";

const BOOTSTRAP = "sk_test_bootstrap_nextjs_example";

let db: TestDatabase;
let prisma: StratumPrisma;
let controlPlane: FastifyInstance;
let controlPlaneUrl: string;
const ids = { root: "", msp: "", alpha: "", beta: "", suspended: "" };

beforeAll(async () => {
  db = await createTestDatabase({ label: "ex_nextjs" });
  prisma = createPrisma({ connectionString: db.appUrl, scopeKey: db.scopeKey });
  const s = prisma.$stratum;
  ids.root = (await s.createTenant({ name: "AcmeSec", slug: "acmesec" })).id;
  ids.msp = (await s.createTenant({ name: "NorthStar MSP", slug: "northstar_msp", parent_id: ids.root })).id;
  ids.alpha = (await s.createTenant({ name: "Client Alpha", slug: "client_alpha", parent_id: ids.msp })).id;
  ids.beta = (await s.createTenant({ name: "Client Beta", slug: "client_beta", parent_id: ids.msp })).id;
  ids.suspended = (await s.createTenant({ name: "Client Gone", slug: "client_gone", parent_id: ids.msp })).id;
  await s.suspendTenant(ids.suspended);
  controlPlane = createControlPlane({ prisma, bootstrapKey: BOOTSTRAP });
  await controlPlane.listen({ port: 0, host: "127.0.0.1" });
  controlPlaneUrl = `http://127.0.0.1:${(controlPlane.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await controlPlane?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

describe("examples/nextjs lib/tickets", () => {
  it("each tenant sees and changes only its own tickets", async () => {
    const a1 = await createTicket(prisma, { title: "VPN down", authorEmail: "ada@alpha.test" }, ids.alpha);
    await createTicket(prisma, { title: "Printer jam", authorEmail: "ada@alpha.test" }, ids.alpha);
    const b1 = await createTicket(prisma, { title: "Phishing mail", authorEmail: "bob@beta.test" }, ids.beta);

    const alpha = await listTickets(prisma, ids.alpha);
    expect(alpha.map((t) => t.title).sort()).toEqual(["Printer jam", "VPN down"]);
    expect(alpha.every((t) => t.author_email === "ada@alpha.test" && t.status === "open")).toBe(true);
    expect((await listTickets(prisma, ids.beta)).map((t) => t.id)).toEqual([b1.id]);

    // Beta cannot close Alpha's ticket: to Beta it does not exist.
    expect(await codeOf(closeTicket(prisma, a1.id, ids.beta))).toBe("NOT_FOUND");
    expect((await listTickets(prisma, ids.alpha)).find((t) => t.id === a1.id)?.status).toBe("open");

    const closed = await closeTicket(prisma, a1.id, ids.alpha);
    expect(closed).toMatchObject({ id: a1.id, title: "VPN down", status: "closed" });
    // Closing twice is harmless.
    expect((await closeTicket(prisma, a1.id, ids.alpha)).status).toBe("closed");
  });

  it("runs under runWithTenant without a tenant argument (the server actions' form)", async () => {
    const created = await runWithTenant(ids.beta, () => createTicket(prisma, { title: "New laptop", authorEmail: "bob@beta.test" }));
    const beta = await runWithTenant(ids.beta, () => listTickets(prisma));
    expect(beta.map((t) => t.id)).toContain(created.id);
    expect((await listTickets(prisma, ids.alpha)).map((t) => t.id)).not.toContain(created.id);
  });

  it("fails closed with NO_TENANT_CONTEXT without a tenant", async () => {
    expect(await codeOf(listTickets(prisma))).toBe("NO_TENANT_CONTEXT");
    expect(await codeOf(createTicket(prisma, { title: "x", authorEmail: "x@x.test" }))).toBe("NO_TENANT_CONTEXT");
    expect(await codeOf(closeTicket(prisma, ids.alpha))).toBe("NO_TENANT_CONTEXT");
    expect(await codeOf(prisma.ticket.findMany())).toBe("NO_TENANT_CONTEXT");
  });

  it("refuses bad input before touching the database", async () => {
    expect(await codeOf(createTicket(prisma, { title: "  ", authorEmail: "ada@alpha.test" }, ids.alpha))).toBe("VALIDATION_FAILED");
    expect(await codeOf(createTicket(prisma, { title: "ok", authorEmail: "nope" }, ids.alpha))).toBe("VALIDATION_FAILED");
    expect(await codeOf(closeTicket(prisma, "not-a-uuid", ids.alpha))).toBe("NOT_FOUND");
  });

  it("the MSP overview counts its clients' tickets and refuses writes", async () => {
    const overview = await mspOverview(prisma, ids.msp);
    const row = (id: string) => overview.tenants.find((t) => t.tenant_id === id);
    expect(overview.tenants[0]).toMatchObject({ tenant_id: ids.msp, depth: 0, open: 0, closed: 0 });
    expect(row(ids.alpha)).toMatchObject({ name: "Client Alpha", depth: 1, open: 1, closed: 1 });
    expect(row(ids.beta)).toMatchObject({ name: "Client Beta", open: 2, closed: 0 });
    expect(overview.totals).toEqual({ open: 3, closed: 1, total: 4 });
    // A client's overview is just its own tickets.
    expect((await mspOverview(prisma, ids.beta)).totals.total).toBe(2);

    const tenantIdOfAlpha = ids.alpha;
    const author = (await prisma.$tenant(ids.alpha).user.findFirstOrThrow()).id;
    expect(await codeOf(mspView(prisma, ids.msp).ticket.create({ data: { tenant_id: tenantIdOfAlpha, title: "sneaky", author_id: author } }))).toBe(
      "READ_ONLY_SCOPE",
    );
    expect(await codeOf(mspView(prisma, ids.msp).ticket.deleteMany({}))).toBe("READ_ONLY_SCOPE");
    expect((await mspOverview(prisma, ids.msp)).totals.total).toBe(4);
  });
});

describe("examples/nextjs lib/tenant (what the server actions resolve from headers())", () => {
  const cases: Array<[string, () => TenantResolver]> = [
    ["local", () => localTenantResolver(prisma)],
    ["SDK (stratum-prisma/next)", () => sdkTenantResolver({ controlPlaneUrl, apiKey: BOOTSTRAP })],
  ];

  describe.each(cases)("%s resolver", (_name, make) => {
    it("resolves the X-Tenant-ID header, else the tenant cookie", async () => {
      const resolve = make();
      expect(await resolve(new Headers({ "x-tenant-id": ids.alpha }))).toMatchObject({ tenant_id: ids.alpha, name: "Client Alpha", slug: "client_alpha" });
      expect((await resolve(new Headers({ cookie: `theme=dark; ${TENANT_COOKIE}=${ids.beta}` }))).tenant_id).toBe(ids.beta);
      // The header wins over the cookie.
      expect((await resolve(new Headers({ "x-tenant-id": ids.alpha, cookie: `${TENANT_COOKIE}=${ids.beta}` }))).tenant_id).toBe(ids.alpha);
    });

    it("refuses a missing, malformed, unknown or suspended tenant with the documented codes and statuses", async () => {
      const resolve = make();
      const refusal = (h: Headers) =>
        resolve(h).then(
          () => null,
          (error: unknown) => ({ code: (error as { code: string }).code, status: (error as { details?: { http_status?: number } }).details?.http_status }),
        );
      expect(await refusal(new Headers())).toEqual({ code: "NO_TENANT_CONTEXT", status: 400 });
      expect(await refusal(new Headers({ "x-tenant-id": "alpha" }))).toMatchObject({ status: 400 });
      expect(await refusal(new Headers({ "x-tenant-id": "00000000-0000-4000-8000-000000000000" }))).toEqual({ code: "TENANT_NOT_FOUND", status: 404 });
      expect(await refusal(new Headers({ "x-tenant-id": ids.suspended }))).toEqual({ code: "TENANT_SUSPENDED", status: 403 });
    });

    it("runs the action inside the request's tenant", async () => {
      const seen = await runAsRequestTenant(make(), new Headers({ "x-tenant-id": ids.alpha }), async (tenant) => ({
        tenant: tenant.tenant_id,
        titles: (await listTickets(prisma)).map((t) => t.title).sort(),
      }));
      expect(seen).toEqual({ tenant: ids.alpha, titles: ["Printer jam", "VPN down"] });
    });
  });
});
