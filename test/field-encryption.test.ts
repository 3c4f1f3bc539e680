/**
 * Field encryption applied by the extension (`/// @stratum.encrypted ssn` on User): every write
 * shape that can carry the field, reads that open it (nested, selected, descendants view), what is
 * refused and why, and ciphertexts moved between rows and tenants by someone with the database.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/prisma/client.js";
import { stratumModels } from "../generated/stratum/index.js";
import { runWithTenant, stratum, stratumAdapter, type Tenant } from "../src/index.js";
import { codeOf as code } from "./support/errors.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";

const KEY = randomBytes(32).toString("base64");
let db: TestDatabase;
let admin: pg.Pool;
const closers: Array<() => Promise<void>> = [];

function client(key: string | null) {
  const saved = { k: process.env.STRATUM_ENCRYPTION_KEY, ks: process.env.STRATUM_ENCRYPTION_KEYS };
  delete process.env.STRATUM_ENCRYPTION_KEY;
  delete process.env.STRATUM_ENCRYPTION_KEYS;
  try {
    const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl, pool: { max: 3 } }) });
    closers.push(() => base.$disconnect());
    return base.$extends(
      stratum({
        models: stratumModels,
        scopeKey: db.scopeKey,
        admin: { connectionString: db.ownerUrl },
        ...(key ? { encryptionKey: key } : {}),
      }),
    );
  } finally {
    if (saved.k !== undefined) process.env.STRATUM_ENCRYPTION_KEY = saved.k;
    if (saved.ks !== undefined) process.env.STRATUM_ENCRYPTION_KEYS = saved.ks;
  }
}

let prisma: ReturnType<typeof client>;
let root: Tenant;
let a: Tenant;
let b: Tenant;
let s1: Tenant;
let s2: Tenant;
const rand = () => randomBytes(3).toString("hex");

const stored = async (id: string, schema = "public") =>
  (await admin.query<{ ssn: string | null }>(`SELECT ssn FROM "${schema}".users WHERE id = $1`, [id])).rows[0]?.ssn;

beforeAll(async () => {
  db = await createTestDatabase({ label: "fieldenc" });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  prisma = client(KEY);
  root = await prisma.$stratum.createTenant({ name: "Fe Root", slug: `fe_root_${rand()}` });
  a = await prisma.$stratum.createTenant({ name: "Fe A", slug: `fe_a_${rand()}`, parent_id: root.id });
  b = await prisma.$stratum.createTenant({ name: "Fe B", slug: `fe_b_${rand()}`, parent_id: root.id });
  s1 = await prisma.$stratum.createTenant({ name: "Fe S1", slug: `fe_s1_${rand()}`, parent_id: root.id, isolation_strategy: "SCHEMA" });
  s2 = await prisma.$stratum.createTenant({ name: "Fe S2", slug: `fe_s2_${rand()}`, parent_id: root.id, isolation_strategy: "SCHEMA" });
}, 120_000);

afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
  await admin?.end();
  await db?.drop();
});

describe("writes seal", () => {
  it("create, createMany, createManyAndReturn and the ambient runWithTenant form", async () => {
    const t = prisma.$tenant(a.id);
    const one = await t.user.create({ data: { tenant_id: a.id, email: "one@a.test", ssn: "111" } });
    expect(one.ssn).toBe("111");
    expect((await stored(one.id))!).toMatch(/^stratum:v1:/);
    await t.user.createMany({
      data: [
        { tenant_id: a.id, email: "m1@a.test", ssn: "m1" },
        { tenant_id: a.id, email: "m2@a.test" },
      ],
    });
    const returned = await t.user.createManyAndReturn({ data: [{ tenant_id: a.id, email: "r1@a.test", ssn: "r1" }] });
    expect(returned.map((u) => u.ssn)).toEqual(["r1"]);
    const ambient = await runWithTenant(a.id, () => prisma.user.create({ data: { tenant_id: a.id, email: "amb@a.test", ssn: "amb" } }));
    expect(ambient.ssn).toBe("amb");
    expect((await stored(ambient.id))!).toMatch(/^stratum:v1:/);
    const all = await t.user.findMany({ where: { email: { in: ["m1@a.test", "m2@a.test", "r1@a.test"] } }, orderBy: { email: "asc" } });
    expect(all.map((u) => u.ssn)).toEqual(["m1", null, "r1"]);
    const raw = await admin.query<{ ssn: string }>(`SELECT ssn FROM users WHERE tenant_id = $1 AND ssn IS NOT NULL`, [a.id]);
    expect(raw.rows.every((r) => r.ssn.startsWith("stratum:v1:"))).toBe(true);
  });

  it("nested creates and connectOrCreate seal the related row; to-one nested updates without an id are refused", async () => {
    const t = prisma.$tenant(b.id);
    const ticket = await t.ticket.create({
      data: {
        title: "nc",
        author: {
          connectOrCreate: {
            where: { tenant_id_email: { tenant_id: b.id, email: "coc@b.test" } },
            create: { tenant_id: b.id, email: "coc@b.test", ssn: "coc" },
          },
        },
      },
      include: { author: true },
    });
    expect(ticket.author.ssn).toBe("coc");
    expect((await stored(ticket.author_id))!).toMatch(/^stratum:v1:/);
    expect(await code(t.ticket.update({ where: { id: ticket.id }, data: { author: { update: { ssn: "nope" } } } }))).toBe("ENCRYPTION_FAILED");
    expect(await code(t.ticket.update({ where: { id: ticket.id }, data: { author: { update: { name: "fine" } } } }))).toBeUndefined();
    const user = await t.user.create({
      data: { tenant_id: b.id, email: "parent@b.test", ssn: "p", tickets: { create: [{ title: "child" }] } },
      include: { tickets: true },
    });
    expect(user.ssn).toBe("p");
    expect(user.tickets).toHaveLength(1);
  });

  it("interactive and batch transactions on a scoped client seal and open", async () => {
    const t = prisma.$tenant(a.id);
    const made = await t.$transaction(async (tx) => {
      const u = await tx.user.create({ data: { tenant_id: a.id, email: "tx@a.test", ssn: "in-tx" } });
      return tx.user.findFirst({ where: { id: u.id } });
    });
    expect(made?.ssn).toBe("in-tx");
    expect((await stored(made!.id))!).toMatch(/^stratum:v1:/);
    const [updated, found] = await t.$transaction([
      t.user.update({ where: { id: made!.id }, data: { ssn: { set: "batch" } } }),
      t.user.findFirst({ where: { email: "one@a.test" } }),
    ]);
    expect(updated.ssn).toBe("batch");
    expect(found?.ssn).toBe("111");
  });

  it("refuses bulk updates, filters and grouping on the encrypted field; null is fine", async () => {
    const t = prisma.$tenant(a.id);
    expect(await code(t.user.updateMany({ data: { ssn: "all" } }))).toBe("ENCRYPTION_FAILED");
    expect(await code(t.user.updateManyAndReturn({ where: { email: "one@a.test" }, data: { ssn: "x" } }))).toBe("ENCRYPTION_FAILED");
    expect(await code(t.user.findMany({ where: { OR: [{ ssn: { contains: "1" } }] } }))).toBe("VALIDATION_FAILED");
    expect(await code(t.ticket.findMany({ where: { author: { ssn: "111" } } }))).toBe("VALIDATION_FAILED");
    expect(await code(t.user.groupBy({ by: ["ssn"], _count: true }))).toBe("VALIDATION_FAILED");
    expect((await t.user.findMany({ where: { ssn: null } })).map((u) => u.email)).toContain("m2@a.test");
    expect((await t.user.updateMany({ where: { email: "m2@a.test" }, data: { ssn: null } })).count).toBe(1);
  });
});

describe("reads open", () => {
  it("a select of only the encrypted field works (the id is selected for it)", async () => {
    const row = await prisma.$tenant(a.id).user.findFirst({ where: { email: "one@a.test" }, select: { ssn: true } });
    expect(row?.ssn).toBe("111");
    const nested = await prisma.$tenant(b.id).ticket.findFirst({ where: { title: "nc" }, select: { title: true, author: { select: { ssn: true } } } });
    expect(nested?.author.ssn).toBe("coc");
  });

  it("a descendants view opens each row under its own tenant", async () => {
    const view = prisma.$tenant(root.id, { descendants: true });
    const rows = await view.user.findMany({
      where: { email: { in: ["one@a.test", "coc@b.test"] } },
      select: { email: true, ssn: true },
      orderBy: { email: "asc" },
    });
    expect(rows.map((r) => [r.email, r.ssn])).toEqual([
      ["coc@b.test", "coc"],
      ["one@a.test", "111"],
    ]);
  });

  it("without a key: writes of the field are refused, sealed values come back as stored", async () => {
    const keyless = client(null);
    expect(await code(keyless.$tenant(a.id).user.create({ data: { tenant_id: a.id, email: "k@a.test", ssn: "clear" } }))).toBe("ENCRYPTION_FAILED");
    const row = await keyless.$tenant(a.id).user.findFirst({ where: { email: "one@a.test" } });
    expect(row?.ssn).toMatch(/^stratum:v1:/);
    expect((await keyless.$tenant(a.id).user.create({ data: { tenant_id: a.id, email: "k2@a.test" } })).ssn).toBeNull();
  });
});

describe("ciphertexts moved by someone with the database", () => {
  it("a value copied to another row of the same tenant fails", async () => {
    const t = prisma.$tenant(a.id);
    const [x, y] = await Promise.all([t.user.findFirst({ where: { email: "m1@a.test" } }), t.user.findFirst({ where: { email: "r1@a.test" } })]);
    await admin.query(`UPDATE users SET ssn = (SELECT ssn FROM users WHERE id = $1) WHERE id = $2`, [x!.id, y!.id]);
    expect(await code(t.user.findUnique({ where: { id: y!.id } }))).toBe("DECRYPTION_FAILED");
    expect(await code(t.user.findMany())).toBe("DECRYPTION_FAILED");
    await t.user.update({ where: { id: y!.id }, data: { ssn: "r1" } });
    expect((await t.user.findUnique({ where: { id: y!.id } }))?.ssn).toBe("r1");
  });

  it("a whole row copied into another tenant's schema (same id) fails there", async () => {
    const u = await prisma.$tenant(s1.id).user.create({ data: { tenant_id: s1.id, email: "copy@s.test", ssn: "schema-secret" } });
    expect((await stored(u.id, s1.placement!))!).toMatch(/^stratum:v1:/);
    await admin.query(`INSERT INTO "${s2.placement}".users (id, tenant_id, email, ssn) SELECT id, $1, email, ssn FROM "${s1.placement}".users WHERE id = $2`, [
      s2.id,
      u.id,
    ]);
    expect(await code(prisma.$tenant(s2.id).user.findUnique({ where: { id: u.id } }))).toBe("DECRYPTION_FAILED");
    expect((await prisma.$tenant(s1.id).user.findUnique({ where: { id: u.id } }))?.ssn).toBe("schema-secret");
  });
});
