/**
 * stratum with @prisma/extension-accelerate (docs/isolation.md "Prisma Accelerate"). Offline:
 * Accelerate's network is not reachable here, so what is tested is what stratum controls.
 *
 * - Composition: a client on stratumAdapter() with withAccelerate() under stratum() runs
 *   `$tenant(id)` queries that carry a `cacheStrategy`, each tenant seeing its own rows.
 * - The cache key: what reaches Accelerate's extension for the same query from two tenants. Without
 *   stratum it is identical (one cache entry would answer both tenants); through `$tenant` the
 *   tenant is in the `where` and every tag is tenant-prefixed, so the keys and tags differ.
 * - Over HTTP (accelerateUrl, no adapter) `$tenant()` refuses with ADAPTER_NOT_STRATUM.
 */
import { withAccelerate } from "@prisma/extension-accelerate";
import { Prisma } from "@prisma/client/extension";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/prisma/client.js";
import { stratumModels } from "../generated/stratum/index.js";
import { tenantCacheTag } from "../src/extension/accelerate.js";
import { stratum, stratumAdapter, type Tenant } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { rejectsWithCode, throwsWithCode } from "./support/errors.js";

/** The args each query has when it reaches Accelerate's extension (recorded just above it). */
const seen: Array<{ model: string; operation: string; args: Record<string, unknown> }> = [];
const recorder = Prisma.defineExtension({
  name: "record-what-accelerate-gets",
  query: {
    $allModels: {
      async $allOperations({ model, operation, args, query }) {
        seen.push({ model, operation, args: structuredClone(args) as Record<string, unknown> });
        return query(args);
      },
    },
  },
});

let db: TestDatabase;
let base: PrismaClient;
let a: Tenant;
let b: Tenant;

function accelerated() {
  // stratum extends the client Accelerate extended: `$tenant` queries go through Accelerate's
  // extension (which takes `cacheStrategy`), then the scoped driver. The recorder sits below
  // Accelerate: its model methods call the client they extended, so it sees the args first.
  return base
    .$extends(recorder)
    .$extends(withAccelerate())
    .$extends(stratum({ models: stratumModels, scopeKey: db.scopeKey, admin: { connectionString: db.ownerUrl } }));
}
let prisma: ReturnType<typeof accelerated>;

beforeAll(async () => {
  db = await createTestDatabase({ label: "accelerate" });
  base = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl, pool: { max: 2 } }) });
  prisma = accelerated();
  a = await prisma.$stratum.createTenant({ name: "Accel A" });
  b = await prisma.$stratum.createTenant({ name: "Accel B" });
  for (const t of [a, b]) await prisma.$tenant(t.id).user.create({ data: { tenant_id: t.id, email: `owner@${t.slug}.test` } });
});

afterAll(async () => {
  await base?.$disconnect();
  await db?.drop();
});

const CACHED = { cacheStrategy: { ttl: 60, swr: 30, tags: ["users"] } } as const;

describe("withAccelerate() under stratum()", () => {
  it("without stratum, the same cached query from two tenants reaches Accelerate identical (one cache entry, one tag)", async () => {
    seen.length = 0;
    // What Accelerate gets for either tenant when nothing puts the tenant in the query.
    const plain = base.$extends(recorder).$extends(withAccelerate());
    await plain.user.findMany({ where: { email: { contains: "@" } }, ...CACHED });
    await plain.user.findMany({ where: { email: { contains: "@" } }, ...CACHED });
    expect(seen).toHaveLength(2);
    expect(seen[0]!.args).toEqual(seen[1]!.args);
    expect(seen[0]!.args.cacheStrategy).toMatchObject({ tags: ["users"] });
  });

  it("$tenant queries with a cacheStrategy run scoped: each tenant gets its own rows", async () => {
    for (const t of [a, b]) {
      const users = await prisma.$tenant(t.id).user.findMany({ where: { email: { contains: "@" } }, ...CACHED });
      expect(users.map((u) => u.tenant_id)).toEqual([t.id]);
      expect(await prisma.$tenant(t.id).user.count({ ...CACHED })).toBe(1);
    }
  });

  it("the tenant is part of what Accelerate would key the cache on, and its tags are tenant-prefixed", async () => {
    seen.length = 0;
    await prisma.$tenant(a.id).user.findMany({ where: { email: { contains: "@" } }, ...CACHED });
    await prisma.$tenant(b.id).user.findMany({ where: { email: { contains: "@" } }, ...CACHED });
    await prisma.$tenant(a.id).user.findUnique({ where: { id: "00000000-0000-4000-8000-000000000000" }, ...CACHED });
    const [fromA, fromB, unique] = seen;
    expect(fromA!.args).not.toEqual(fromB!.args);
    expect(fromA!.args.where).toEqual({ AND: [{ email: { contains: "@" } }, { tenant_id: a.id }] });
    expect(fromB!.args.where).toEqual({ AND: [{ email: { contains: "@" } }, { tenant_id: b.id }] });
    expect(fromA!.args.cacheStrategy).toEqual({ ttl: 60, swr: 30, tags: [tenantCacheTag(a.id, "users")] });
    expect(fromB!.args.cacheStrategy).toEqual({ ttl: 60, swr: 30, tags: [tenantCacheTag(b.id, "users")] });
    expect(tenantCacheTag(a.id, "users")).toBe(`t${a.id.replaceAll("-", "")}_users`);
    // findUnique runs as findFirst under $tenant, so its where takes the tenant too
    expect(unique!.operation).toBe("findFirst");
    expect(unique!.args.where).toEqual({ AND: [{ id: "00000000-0000-4000-8000-000000000000" }, { tenant_id: a.id }] });
  });

  it("a tag that cannot carry the tenant prefix within Accelerate's 64 characters is refused before any query", async () => {
    const long = "x".repeat(31);
    throwsWithCode(() => tenantCacheTag(a.id, long), "VALIDATION_FAILED");
    await rejectsWithCode(prisma.$tenant(a.id).user.findMany({ cacheStrategy: { ttl: 60, tags: [long] } }), "VALIDATION_FAILED");
  });
});

describe("a client that speaks HTTP to Accelerate or Prisma Postgres (no driver adapter)", () => {
  it("$tenant() refuses with ADAPTER_NOT_STRATUM; nothing is sent", () => {
    const http = new PrismaClient({ accelerateUrl: "prisma://accelerate.prisma-data.net/?api_key=offline-test-key" });
    // (withAccelerate() is left out: on an HTTP client it asks Accelerate for its key at once.)
    const extended = http.$extends(stratum({ models: stratumModels, scopeKey: db.scopeKey }));
    const error = throwsWithCode(() => extended.$tenant(a.id), "ADAPTER_NOT_STRATUM");
    expect(error.message).toContain("stratumAdapter");
  });
});
