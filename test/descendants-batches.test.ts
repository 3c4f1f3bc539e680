/**
 * The descendants view over more homes than one statement reads: an MSP in the shared tables with
 * 30 clients in schemas of their own, read with a home batch of 4 (8 statements per read). Every
 * served shape must answer exactly as one statement over all homes does (the batch size raised
 * above the number of homes), and the shapes that cannot be assembled are refused by code.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Tenant } from "../src/index.js";
import { isStratumError } from "../src/index.js";
import { DEFAULT_HOME_BATCH, setHomeBatchSize } from "../src/isolation/descendants.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let msp: Tenant;
let other: Tenant;
const CLIENTS = 30;
// Mixed case, accents and digits: the merge must order text as PostgreSQL's C collation does.
const TITLES = ["alpha", "Zulu", "émile", "beta", "10", "9", "Ärger", "zeta"];

beforeAll(async () => {
  db = await createTestDatabase({ label: "desc_batches" });
  client = stratumTestClient(db, { poolSize: 3 });
  const p = client.prisma;
  msp = await p.$stratum.createTenant({ name: "Batch MSP" });
  other = await p.$stratum.createTenant({ name: "Batch Other" });
  const tenants = [msp, other];
  for (let i = 0; i < CLIENTS; i++) tenants.push(await p.$stratum.createTenant({ name: `Batch Client ${i}`, parent_id: msp.id, isolation_strategy: "SCHEMA" }));
  for (const [n, t] of tenants.entries()) {
    const user = await p.$tenant(t.id).user.create({ data: { tenant_id: t.id, email: `owner@${t.slug}.test`, name: n % 3 === 0 ? null : `N${n % 7}` } });
    await p.$tenant(t.id).ticket.createMany({
      data: Array.from({ length: 1 + (n % 4) }, (_, k) => ({
        id: randomUUID(),
        tenant_id: t.id,
        author_id: user.id,
        title: `${TITLES[(n + k) % TITLES.length]} ${n}`,
      })),
    });
  }
}, 120_000);

afterEach(() => setHomeBatchSize(DEFAULT_HOME_BATCH));

afterAll(async () => {
  await client?.close();
  await db?.drop();
});

const view = () => client.prisma.$tenant(msp.id, { descendants: true });
/** The same call batched (4 homes a statement) and in one statement. */
async function both<T>(call: () => Promise<T>): Promise<{ batched: T; whole: T }> {
  setHomeBatchSize(4);
  const batched = await call();
  setHomeBatchSize(1_000);
  const whole = await call();
  return { batched, whole };
}
const codeOf = (e: unknown) => (isStratumError(e) ? e.code : String(e));

describe("descendants view in batches of homes", () => {
  it("plans its statements once per connection (generic plans); other statements keep the session's plan mode", async () => {
    // A raw statement carries its scope's prelude like any other: it shows the plan mode it ran under.
    const sql = "SELECT pg_catalog.current_setting('plan_cache_mode') AS mode";
    const mode = async (rows: Promise<Array<{ mode: string }>>) => (await rows)[0]?.mode;
    expect(await mode(view().$queryRawUnsafe(sql))).toBe("force_generic_plan");
    expect(await mode(client.prisma.$tenant(msp.id).$queryRawUnsafe(sql))).toBe("auto");
    expect(await mode(client.prisma.$queryRawUnsafe(sql))).toBe("auto");
  });

  it("counts across batches as one statement does, and never the other tree", async () => {
    const { batched, whole } = await both(() => view().ticket.count());
    const expected = Array.from({ length: CLIENTS + 2 }, (_, n) => (n === 1 ? 0 : 1 + (n % 4))).reduce((a, b) => a + b, 0);
    expect(batched).toBe(expected);
    expect(whole).toBe(expected);
    expect((await both(() => view().user.count({ select: { _all: true, name: true } }))).batched).toEqual({ _all: CLIENTS + 1, name: expect.any(Number) });
    expect((await both(() => view().ticket.count({ where: { tenant_id: other.id } }))).batched).toBe(0);
  });

  it("assembles pages in PostgreSQL's order: skip, take, several keys, nulls, a field left out of select", async () => {
    const shapes = [
      () => view().ticket.findMany({ orderBy: { title: "asc" }, skip: 3, take: 7 }),
      () => view().ticket.findMany({ orderBy: [{ title: "desc" }, { id: "asc" }], take: 11 }),
      () => view().user.findMany({ orderBy: [{ name: { sort: "asc", nulls: "first" } }, { email: "asc" }], skip: 5, take: 9 }),
      () => view().ticket.findMany({ where: { title: { contains: "e" } }, orderBy: { title: "asc" }, select: { id: true } }),
      () => view().user.findMany({ orderBy: { email: "desc" }, take: 4, include: { tickets: { orderBy: { id: "asc" } } } }),
    ];
    for (const shape of shapes) {
      const { batched, whole } = await both(shape);
      expect(batched).toEqual(whole);
      expect((batched as unknown[]).length).toBeGreaterThan(0);
    }
  });

  it("finds one row in any batch: findFirst and findUnique", async () => {
    const last = (await view().ticket.findMany({ orderBy: { title: "desc" }, take: 1 }))[0]!;
    const { batched, whole } = await both(() => view().ticket.findUnique({ where: { id: last.id } }));
    expect(batched).toEqual(last);
    expect(whole).toEqual(last);
    expect((await both(() => view().ticket.findFirst({ where: { title: { startsWith: "zeta" } }, orderBy: { title: "asc" } }))).batched).toEqual(
      await view().ticket.findFirst({ where: { title: { startsWith: "zeta" } }, orderBy: { title: "asc" } }),
    );
  });

  it("refuses shapes it cannot assemble with DESCENDANTS_TOO_WIDE, before any statement", async () => {
    setHomeBatchSize(4);
    const refused = [
      () => view().ticket.aggregate({ _count: { _all: true } }),
      () => view().ticket.groupBy({ by: ["tenant_id"], _count: { _all: true } }),
      () => view().ticket.findMany({ cursor: { id: randomUUID() }, take: 2 }),
      () => view().ticket.findMany({ distinct: ["tenant_id"] }),
      () => view().ticket.findMany({ orderBy: { author: { email: "asc" } } }),
      () => view().ticket.findMany({ take: -2 }),
    ];
    for (const call of refused)
      expect(
        codeOf(
          await call().then(
            () => null,
            (e: unknown) => e,
          ),
        ),
      ).toBe("DESCENDANTS_TOO_WIDE");
  });
});
