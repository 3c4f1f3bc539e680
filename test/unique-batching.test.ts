/**
 * Scoped findUnique calls of one tick are batched again — within one scope, never across scopes
 * (src/extension/unique-batcher.ts). The first test shows why the key must be the scope: Prisma's
 * own batching, under two tenants' scopes in one tick, answers one of them from the wrong scope.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/prisma/client.js";
import { stratumModels } from "../generated/stratum/index.js";
import { stratum, stratumAdapter, type Tenant } from "../src/index.js";
import { runInScope, signScope, type TenantScope } from "../src/isolation/scope.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";

let db: TestDatabase;
let base: PrismaClient;
/** Operations the scoped clients hand to Prisma, in order (the client below stratum's records them). */
const issued: string[] = [];
let prisma: ReturnType<typeof build>;
let a: Tenant;
let b: Tenant;
const users = new Map<string, string[]>();

function build() {
  const recording = base.$extends({
    query: {
      $allOperations({ model, operation, args, query }) {
        if (model === "User") issued.push(operation);
        return query(args);
      },
    },
  });
  return recording.$extends(
    stratum({ models: stratumModels, scopeKey: db.scopeKey, encryptionKey: randomBytes(32).toString("base64"), admin: { connectionString: db.ownerUrl } }),
  );
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "unique_batching" });
  base = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl, pool: { max: 4 } }) });
  prisma = build();
  a = await prisma.$stratum.createTenant({ name: "Batch A" });
  b = await prisma.$stratum.createTenant({ name: "Batch B" });
  for (const t of [a, b]) {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push((await prisma.$tenant(t.id).user.create({ data: { tenant_id: t.id, email: `u${i}@${t.slug}.test`, ssn: `ssn-${i}` } })).id);
    users.set(t.id, ids);
  }
});

afterAll(async () => {
  await base?.$disconnect();
  await db?.drop();
});

const idsOf = (t: Tenant) => users.get(t.id)!;

function scopeOf(t: Tenant): TenantScope {
  return { tenantId: t.id, mode: "s", strategy: "SHARED_RLS", token: signScope(db.scopeKey, t.id, "s"), searchPath: "public", readOnly: false };
}

describe("findUnique batching", () => {
  it("without scope-keyed batches, Prisma's own batching answers one tenant under another's scope", async () => {
    // Both calls in one tick: Prisma merges them into one statement, run under one scope only.
    const [fromA, fromB] = await Promise.all([
      runInScope(scopeOf(a), () => base.user.findUnique({ where: { id: idsOf(a)[0]! } })),
      runInScope(scopeOf(b), () => base.user.findUnique({ where: { id: idsOf(b)[0]! } })),
    ]);
    expect([fromA?.id ?? null, fromB?.id ?? null]).toContain(null);
  });

  it("runs one tenant's findUnique calls of one tick as one statement, each caller getting its row", async () => {
    issued.length = 0;
    const ids = idsOf(a);
    const rows = await Promise.all(ids.map((id) => prisma.$tenant(a.id).user.findUnique({ where: { id } })));
    expect(rows.map((r) => r?.id)).toEqual(ids);
    // Model hooks still apply to each row: the encrypted field comes back decrypted.
    expect(rows.map((r) => r?.ssn)).toEqual(ids.map((_, i) => `ssn-${i}`));
    expect(issued).toEqual(["findMany"]);
  });

  it("never lets two tenants share a statement: each gets only its own rows, the other's ids find nothing", async () => {
    issued.length = 0;
    const asks = [...idsOf(a).map((id) => ({ t: a, id })), ...idsOf(b).map((id) => ({ t: b, id })), { t: b, id: idsOf(a)[1]! }, { t: a, id: idsOf(b)[2]! }];
    const rows = await Promise.all(asks.map(({ t, id }) => prisma.$tenant(t.id).user.findUnique({ where: { id } })));
    asks.forEach(({ t, id }, i) => {
      if (idsOf(t).includes(id)) expect(rows[i]).toMatchObject({ id, tenant_id: t.id });
      else expect(rows[i]).toBeNull();
    });
    // One statement per tenant (the foreign-id misses also re-check the route: not User reads).
    expect(issued.filter((op) => op === "findMany")).toHaveLength(2);
  });

  it("a lone call runs as findFirst; a repeated id and a select without the key run alone", async () => {
    issued.length = 0;
    const [id0, id1] = idsOf(a);
    expect((await prisma.$tenant(a.id).user.findUnique({ where: { id: id0! } }))?.id).toBe(id0);
    expect(issued).toEqual(["findFirst"]);

    issued.length = 0;
    const [x, y, z] = await Promise.all([
      prisma.$tenant(a.id).user.findUnique({ where: { id: id1! } }),
      prisma.$tenant(a.id).user.findUnique({ where: { id: id1! } }),
      prisma.$tenant(a.id).user.findUnique({ where: { id: id0! }, select: { email: true } }),
    ]);
    expect(x?.id).toBe(id1);
    expect(y?.id).toBe(id1);
    expect(x).not.toBe(y);
    expect(z).toEqual({ email: expect.stringMatching(/^u0@/) });
    expect(issued.sort()).toEqual(["findFirst", "findFirst", "findFirst"]);
  });

  it("keeps the shape: calls with different selects go to different statements", async () => {
    issued.length = 0;
    const ids = idsOf(b);
    const rows = await Promise.all([
      ...ids.slice(0, 3).map((id) => prisma.$tenant(b.id).user.findUnique({ where: { id }, select: { id: true, email: true } })),
      ...ids.slice(3).map((id) => prisma.$tenant(b.id).user.findUnique({ where: { id }, include: { tickets: true } })),
    ]);
    expect(Object.keys(rows[0]!).sort()).toEqual(["email", "id"]);
    expect(rows[3]).toHaveProperty("tickets", []);
    expect(issued).toEqual(["findMany", "findMany"]);
  });
});
