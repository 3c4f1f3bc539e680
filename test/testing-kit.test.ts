/**
 * `stratum-prisma/testing` against this repository's own schema: it seeds two tenants per run,
 * passes on a correctly scoped client for every strategy, and names model and vector when
 * isolation is broken (a client that does not scope at all).
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/prisma/client.js";
import { stratumModels } from "../generated/stratum/index.js";
import {
  ISOLATION_VECTORS,
  TenantIsolationError,
  assertTenantIsolation,
  checkTenantIsolation,
  planSeeding,
  rowData,
  type TenantIsolationClient,
} from "../src/testing/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;

beforeAll(async () => {
  db = await createTestDatabase({ label: "testing_kit" });
  client = stratumTestClient(db, { poolSize: 4 });
});

afterAll(async () => {
  await client?.close();
  await db?.drop();
});

describe("seeding plan", () => {
  it("orders parents first and fills required scalars, the tenant field and relation keys", () => {
    const plan = planSeeding(stratumModels, stratumModels.tenantModels);
    expect(plan.order).toEqual(["User", "Ticket"]);
    expect(plan.skipped).toEqual({});
    const tenant = "11111111-1111-4111-8111-111111111111";
    const user = rowData(stratumModels.models.User!, tenant, "kit_x", {});
    expect(user).toEqual({ tenant_id: tenant, email: "kit_x_email" });
    const ticket = rowData(stratumModels.models.Ticket!, tenant, "kit_y", { User: { id: "u1", tenant_id: tenant } });
    expect(ticket).toEqual({ tenant_id: tenant, title: "kit_y_title", author_id: "u1" });
  });

  it("skips global models with a reason", () => {
    const plan = planSeeding(stratumModels, ["StratumTenant", "User"]);
    expect(plan.order).toEqual(["User"]);
    expect(plan.skipped.StratumTenant).toMatch(/not a tenant model/);
  });
});

describe.each(["SHARED_RLS", "SCHEMA", "DATABASE"] as const)("a correctly scoped client, %s tenants", (strategy) => {
  it("passes every vector for every tenant model and cleans up", async () => {
    const before = await client.prisma.$stratum.listTenants({ limit: 200 });
    const report = await assertTenantIsolation(client.prisma, stratumModels, { strategy });
    expect(report.ok).toBe(true);
    expect(report.tested).toEqual(["User", "Ticket"]);
    expect(report.results).toHaveLength(2 * 2 * ISOLATION_VECTORS.length);
    expect(new Set(report.results.map((r) => r.vector))).toEqual(new Set(ISOLATION_VECTORS));
    const after = await client.prisma.$stratum.listTenants({ limit: 200 });
    expect(after.data.length).toBe(before.data.length);
  });
});

describe("existing tenants of different strategies", () => {
  it("passes for an RLS tenant against a SCHEMA tenant, and leaves their own rows alone", async () => {
    const a = await client.prisma.$stratum.createTenant({ name: "Kit Rls" });
    const b = await client.prisma.$stratum.createTenant({ name: "Kit Schema", isolation_strategy: "SCHEMA" });
    const keep = await client.prisma.$tenant(a.id).user.create({ data: { tenant_id: a.id, email: "keep@a.test" } });
    const report = await checkTenantIsolation(client.prisma, stratumModels, { tenants: [a.id, b.id], rowsPerModel: 3 });
    expect(report.failures).toEqual([]);
    expect(await client.prisma.$tenant(a.id).user.findMany()).toEqual([keep]);
    expect(await client.prisma.$tenant(b.id).user.count()).toBe(0);
  });
});

describe("a client that does not isolate", () => {
  it("is caught, with model and vector named in the error", async () => {
    // Connected as the superuser and not scoped at all: every tenant sees every row.
    const leaky = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.adminUrl }) });
    try {
      const a = await client.prisma.$stratum.createTenant({ name: "Kit Leak A" });
      const b = await client.prisma.$stratum.createTenant({ name: "Kit Leak B" });
      const fake: TenantIsolationClient = Object.assign(Object.create(leaky) as object, { $tenant: () => leaky });
      const error = await assertTenantIsolation(fake, stratumModels, { tenants: [a.id, b.id] }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TenantIsolationError);
      const report = (error as TenantIsolationError).report;
      const failed = new Set(report.failures.map((f) => `${f.model}×${f.vector}`));
      for (const expected of [
        "User×list",
        "User×count",
        "User×findUniqueForeignId",
        "User×update",
        "User×delete",
        "User×raw",
        "Ticket×list",
        "Ticket×nested",
        "User×noContext",
      ]) {
        expect(failed, expected).toContain(expected);
      }
      expect((error as Error).message).toMatch(/User × list \(from tenant a\): \d+ row\(s\) of tenant\(s\)/);
      expect((error as Error).message).toMatch(/Ticket × findUniqueForeignId/);
    } finally {
      await leaky.$disconnect();
    }
  });
});
