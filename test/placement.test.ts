/**
 * Where new DATABASE tenants go (placement.ts), on the main server and the harness's second
 * PostgreSQL: a named server, a tag such as a region, the first server by default, the least
 * loaded by tenant count when asked; an unknown server or tag is refused before anything is made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Tenant } from "../src/index.js";
import { leastLoaded, placementSatisfies } from "../src/isolation/placement.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { appUrlOf } from "./harness/roles.js";
import { startSecondPostgres } from "./harness/second-postgres.js";
import { codeOf } from "./support/errors.js";
import { stratumTestClient, type TestClientOptions } from "./support/stratum-client.js";

type Client = ReturnType<typeof stratumTestClient>;

let db: TestDatabase;
let servers: NonNullable<TestClientOptions["servers"]>;
const clients: Client[] = [];
const created: Array<{ client: Client; tenant: Tenant }> = [];
const TAGS = { main: ["us", "any"], second: ["eu", "any"] };

function client(placement: TestClientOptions["placement"]): Client {
  const made = stratumTestClient(db, { servers, ...(placement ? { placement } : {}) });
  clients.push(made);
  return made;
}

async function create(c: Client, server?: string): Promise<string> {
  const tenant = await c.prisma.$stratum.createTenant({ name: `Placed ${created.length}`, isolation_strategy: "DATABASE", ...(server ? { server } : {}) });
  created.push({ client: c, tenant });
  return tenant.placement!.split("/")[0]!;
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "placement" });
  const second = await startSecondPostgres();
  servers = { second: { appUrl: appUrlOf(second.adminUrl), adminUrl: second.adminUrl } };
}, 120_000);

afterAll(async () => {
  for (const { client: c, tenant } of created) await c.prisma.$stratum.deleteTenant(tenant.id, { cascade: true }).catch(() => undefined);
  for (const c of clients) await c.close().catch(() => undefined);
  await db?.drop();
});

describe("placement of new DATABASE tenants", () => {
  it("a named server wins; with none, the first configured server (the default policy)", async () => {
    const c = client(undefined);
    expect(await create(c, "second")).toBe("second");
    expect(await create(c)).toBe("main");
  }, 60_000);

  it("least-loaded: each new tenant goes to the server holding the fewest DATABASE tenants, ties to the first listed", async () => {
    // The test database now holds one DATABASE tenant on each server (the test above).
    const c = client({ policy: "least-loaded" });
    expect(await create(c, "main")).toBe("main"); // main 2, second 1
    expect(await create(c)).toBe("second"); // 2 / 2
    expect(await create(c)).toBe("main"); // a tie: the first listed
    expect(await create(c)).toBe("second");
  }, 120_000);

  it("a tag picks among the servers carrying it, least loaded first", async () => {
    const c = client({ tags: TAGS });
    expect(await create(c, "tag:eu")).toBe("second");
    expect(await create(c, "tag:us")).toBe("main");
    // main 4, second 4 so far: "any" is carried by both, a tie goes to main, then second.
    expect(await create(c, "tag:any")).toBe("main");
    expect(await create(c, "tag:any")).toBe("second");
  }, 120_000);

  it("an unknown server or tag is PLACEMENT_UNKNOWN, and no tenant is left behind", async () => {
    const c = client({ tags: TAGS });
    const before = (await c.prisma.$stratum.listTenants({ limit: 200 })).data.length;
    expect(await codeOf(c.prisma.$stratum.createTenant({ name: "Nowhere", isolation_strategy: "DATABASE", server: "mars" }))).toBe("PLACEMENT_UNKNOWN");
    expect(await codeOf(c.prisma.$stratum.createTenant({ name: "No tag", isolation_strategy: "DATABASE", server: "tag:apac" }))).toBe("PLACEMENT_UNKNOWN");
    expect((await c.prisma.$stratum.listTenants({ limit: 200 })).data.length).toBe(before);
  }, 60_000);

  it("setIsolation to a tag the tenant's server already carries moves nothing", async () => {
    const c = client({ tags: TAGS });
    const tenant = await c.prisma.$stratum.createTenant({ name: "Stays in eu", isolation_strategy: "DATABASE", server: "tag:eu" });
    created.push({ client: c, tenant });
    const result = await c.prisma.$stratum.setIsolation(tenant.id, "DATABASE", { server: "tag:eu" });
    expect(result.moved).toBe(false);
    expect(result.to.placement).toBe(tenant.placement);
  }, 60_000);
});

describe("placement rules", () => {
  it("leastLoaded breaks ties by the order the servers are listed in", () => {
    expect(
      leastLoaded(
        ["a", "b", "c"],
        new Map([
          ["a", 2],
          ["b", 1],
          ["c", 1],
        ]),
      ),
    ).toBe("b");
    expect(leastLoaded(["a", "b"], new Map())).toBe("a");
  });

  it("placementSatisfies: a server by name or by tag; no request is always satisfied", () => {
    const options = { tags: { eu1: ["eu"] } };
    expect(placementSatisfies("eu1/stratum_t_x", "eu1", options)).toBe(true);
    expect(placementSatisfies("eu1/stratum_t_x", "tag:eu", options)).toBe(true);
    expect(placementSatisfies("us1/stratum_t_x", "tag:eu", options)).toBe(false);
    expect(placementSatisfies("us1/stratum_t_x", undefined, options)).toBe(true);
  });
});
