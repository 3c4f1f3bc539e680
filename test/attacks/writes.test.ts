/**
 * Writes aimed across the tenant line: nested create/connect, upsert, createMany(AndReturn),
 * updateMany/deleteMany, update/delete by a foreign id, moving a row to another tenant, inserting
 * with a foreign or missing tenant id, and the composite keys (a foreign key into another tenant
 * fails exactly like a key into nothing; a unique value another tenant uses is free here).
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  codeOf,
  createWorld,
  expectClean,
  expectNoLeak,
  expectOnlyTenant,
  failure,
  rejectsClean,
  render,
  targets,
  type Seeded,
  type World,
} from "./support.js";

let world: World;

beforeAll(async () => {
  world = await createWorld("atk_writes");
});

afterAll(async () => {
  await world?.close();
});

afterEach(async () => {
  await expectClean(world.solo);
  await expectOthersIntact();
});

/** Every seeded tenant still holds exactly its seeded users and tickets, unchanged. */
async function expectOthersIntact(): Promise<void> {
  for (const o of world.all) {
    const home = o.strategy === "SCHEMA" ? `"${o.tenant.placement}"` : "public";
    const users = await world.admin.query(`SELECT id::text, tenant_id::text, email, name FROM ${home}.users WHERE id = ANY($1::uuid[]) ORDER BY id`, [
      o.users.map((u) => u.id),
    ]);
    expect(users.rows).toEqual(o.users.map((u) => ({ ...u, tenant_id: o.tenant.id })).sort((x, y) => x.id.localeCompare(y.id)));
    const tickets = await world.admin.query(
      `SELECT id::text, title, author_id::text FROM ${home}.tickets WHERE id = ANY($1::uuid[]) AND tenant_id = $2 ORDER BY id`,
      [o.tickets.map((x) => x.id), o.tenant.id],
    );
    expect(tickets.rows).toEqual([...o.tickets].sort((x, y) => x.id.localeCompare(y.id)));
  }
}

describe.each(["SHARED_RLS", "SCHEMA"] as const)("%s", (strategy) => {
  let n = 0;
  const ctx = () => {
    const found = targets(world).find(([name]) => name === strategy)!;
    const self = found[1];
    return { self, others: found[2], t: world.solo.prisma.$tenant(self.tenant.id), tid: self.tenant.id, email: () => `w${++n}-${strategy}@x.test` };
  };
  const foreign = (): Seeded => ctx().others[0]!;

  it("nested create and include return only the tenant's rows; nested connect cannot reach a foreign row", async () => {
    const { self, others, t, tid, email } = ctx();
    const created = await t.user.create({
      data: { tenant_id: tid, email: email(), tickets: { create: [{ title: "nested one" }, { title: "nested two" }] } },
      include: { tickets: { include: { author: true } } },
    });
    expect(created.tickets).toHaveLength(2);
    expectOnlyTenant(created, self, others);
    for (const o of others) {
      await rejectsClean(t.user.create({ data: { tenant_id: tid, email: email(), tickets: { connect: [{ id: o.tickets[0]!.id }] } } }), others);
      await rejectsClean(t.ticket.create({ data: { title: "x", author: { connect: { id: o.users[0]!.id } } } }), others);
      await rejectsClean(t.user.update({ where: { id: self.users[0]!.id }, data: { tickets: { connect: [{ id: o.tickets[0]!.id }] } } }), others);
      await rejectsClean(t.user.update({ where: { id: self.users[0]!.id }, data: { tickets: { delete: [{ id: o.tickets[0]!.id }] } } }), others);
      const viaOr = await t.ticket.create({
        data: { title: "coc", author: { connectOrCreate: { where: { id: o.users[0]!.id }, create: { tenant_id: tid, email: email() } } } },
        include: { author: true },
      });
      expectOnlyTenant(viaOr, self, others);
      expect(viaOr.author.id).not.toBe(o.users[0]!.id);
    }
    // Nested updateMany/deleteMany through a relation stay inside the tenant.
    const touched = await t.user.update({
      where: { id: created.id },
      data: { tickets: { updateMany: { where: {}, data: { title: "renamed" } } } },
      include: { tickets: true },
    });
    expectOnlyTenant(touched, self, others);
  });

  it("upsert: a foreign id in where creates the tenant's own row, never updates theirs", async () => {
    const { self, others, t, tid, email } = ctx();
    for (const o of others) {
      const row = await t.user.upsert({ where: { id: o.users[0]!.id }, create: { tenant_id: tid, email: email() }, update: { name: "pwned" } });
      expectOnlyTenant(row, self, others);
      expect(row.id).not.toBe(o.users[0]!.id);
      const compound = await t.user.upsert({
        where: { tenant_id_email: { tenant_id: o.tenant.id, email: o.users[0]!.email } },
        create: { tenant_id: tid, email: email() },
        update: { name: "pwned" },
      });
      expectOnlyTenant(compound, self, others);
      // Their compound key under our tenant id simply names our row (or a new one).
      const own = await t.user.upsert({
        where: { tenant_id_email: { tenant_id: tid, email: o.users[0]!.email } },
        create: { tenant_id: tid, email: o.users[0]!.email, name: "mine" },
        update: { name: "mine again" },
      });
      expect(own.tenant_id).toBe(tid);
      await t.user.delete({ where: { id: own.id } });
    }
    // An upsert whose create names another tenant is refused.
    await rejectsClean(t.user.upsert({ where: { id: randomUUID() }, create: { tenant_id: foreign().tenant.id, email: email() }, update: {} }), others);
  });

  it("createMany and createManyAndReturn insert for the tenant only; one foreign row fails the whole statement", async () => {
    const { self, others, t, tid, email } = ctx();
    const before = await t.user.count();
    expect(
      (
        await t.user.createMany({
          data: [
            { tenant_id: tid, email: email() },
            { tenant_id: tid, email: email() },
          ],
        })
      ).count,
    ).toBe(2);
    const returned = await t.user.createManyAndReturn({ data: [{ tenant_id: tid, email: email() }], select: { id: true, tenant_id: true, email: true } });
    expectOnlyTenant(returned, self, others);
    await rejectsClean(
      t.user.createMany({
        data: [
          { tenant_id: tid, email: email() },
          { tenant_id: foreign().tenant.id, email: email() },
        ],
      }),
      others,
    );
    await rejectsClean(t.user.createManyAndReturn({ data: [{ tenant_id: foreign().tenant.id, email: email() }] }), others);
    await rejectsClean(t.ticket.createMany({ data: [{ tenant_id: tid, title: "x", author_id: foreign().users[0]!.id }] }), others);
    expect(await t.user.count()).toBe(before + 3);
    // skipDuplicates over the shared email skips only the tenant's own duplicate.
    expect((await t.user.createMany({ data: [{ tenant_id: tid, email: "shared@same.test" }], skipDuplicates: true })).count).toBe(0);
  });

  it("updateMany, deleteMany, update and delete never reach a foreign row", async () => {
    const { self, others, t } = ctx();
    const foreignIds = others.flatMap((o) => [...o.users.map((u) => u.id)]);
    expect((await t.user.updateMany({ where: { id: { in: foreignIds } }, data: { name: "pwned" } })).count).toBe(0);
    expect((await t.ticket.deleteMany({ where: { id: { in: others.flatMap((o) => o.tickets.map((x) => x.id)) } } })).count).toBe(0);
    expect(
      (await t.ticket.updateMany({ where: { title: { in: others.flatMap((o) => o.tickets.map((x) => x.title)) } }, data: { title: { set: "x" } } })).count,
    ).toBe(0);
    expect((await t.user.updateManyAndReturn({ where: { email: "shared@same.test" }, data: { name: self.users[1]!.name } })).map((u) => u.tenant_id)).toEqual([
      self.tenant.id,
    ]);
    for (const o of others) {
      const u = await rejectsClean(t.user.update({ where: { id: o.users[0]!.id }, data: { name: "pwned" } }), others);
      expect(codeOf(u)).toBe("P2025");
      const d = await rejectsClean(t.ticket.delete({ where: { id: o.tickets[0]!.id } }), others);
      expect(codeOf(d)).toBe("P2025");
      await rejectsClean(t.user.update({ where: { tenant_id_email: { tenant_id: o.tenant.id, email: o.users[0]!.email } }, data: { name: "pwned" } }), others);
      await rejectsClean(t.user.delete({ where: { tenant_id_id: { tenant_id: o.tenant.id, id: o.users[0]!.id } } }), others);
    }
  });

  it("moving a row to another tenant (update tenant_id, directly or through a relation) is refused", async () => {
    const { self, others, t, tid, email } = ctx();
    const mine = await t.user.create({ data: { tenant_id: tid, email: email() } });
    for (const o of others) {
      await rejectsClean(t.user.update({ where: { id: mine.id }, data: { tenant_id: o.tenant.id } }), others);
      await rejectsClean(t.user.updateMany({ where: { id: mine.id }, data: { tenant_id: o.tenant.id } }), others);
      await rejectsClean(t.$executeRawUnsafe("UPDATE users SET tenant_id = $1::uuid WHERE id = $2::uuid", o.tenant.id, mine.id), others);
      await rejectsClean(t.ticket.update({ where: { id: self.tickets[0]!.id }, data: { author: { connect: { id: o.users[0]!.id } } } }), others);
    }
    expect((await t.user.findUnique({ where: { id: mine.id } }))?.tenant_id).toBe(tid);
  });

  it("inserting with a foreign, missing, null or malformed tenant id is refused", async () => {
    const { others, t, tid, email } = ctx();
    for (const o of others) {
      await rejectsClean(t.user.create({ data: { tenant_id: o.tenant.id, email: email() } }), others);
      await rejectsClean(t.ticket.create({ data: { tenant_id: o.tenant.id, title: "x", author_id: o.users[0]!.id } }), others);
      await rejectsClean(
        t.$executeRawUnsafe("INSERT INTO users (id, tenant_id, email) VALUES (gen_random_uuid(), $1::uuid, 'raw@x.test')", o.tenant.id),
        others,
      );
    }
    await rejectsClean(t.user.create({ data: { email: email() } as never }), others);
    await rejectsClean(t.user.create({ data: { tenant_id: null, email: email() } as never }), others);
    await rejectsClean(t.user.create({ data: { tenant_id: "not-a-uuid", email: email() } }), others);
    await rejectsClean(t.$executeRawUnsafe("INSERT INTO users (id, tenant_id, email) VALUES (gen_random_uuid(), NULL, 'raw@x.test')"), others);
    expect(tid).toBeTruthy();
  });

  it("a ticket pointing at another tenant's user fails exactly like one pointing at nobody", async () => {
    const { others, t, tid } = ctx();
    const nobody = randomUUID();
    const shape = (error: unknown, id: string) => ({
      code: codeOf(error),
      text: render(error)
        .split(id)
        .join("<id>")
        .replace(/\s+at .*$/gm, ""),
    });
    const missing = await failure(t.ticket.create({ data: { tenant_id: tid, title: "fk", author_id: nobody } }));
    expect(missing).toBeDefined();
    for (const o of others) {
      const into = await failure(t.ticket.create({ data: { tenant_id: tid, title: "fk", author_id: o.users[0]!.id } }));
      expect(into).toBeDefined();
      expectNoLeak(into, others);
      expect(shape(into, o.users[0]!.id).code).toBe(shape(missing, nobody).code);
      // Their tenant id and their user (a pair that exists) vs their tenant id and nobody.
      const pair = await failure(t.ticket.create({ data: { tenant_id: o.tenant.id, title: "fk", author_id: o.users[0]!.id } }));
      const pairNobody = await failure(t.ticket.create({ data: { tenant_id: o.tenant.id, title: "fk", author_id: nobody } }));
      expect(codeOf(pair)).toBe(codeOf(pairNobody));
      expectNoLeak(pair, others);
      // Raw SQL: same error code for both.
      const raw = await failure(
        t.$executeRawUnsafe("INSERT INTO tickets (id, tenant_id, title, author_id) VALUES (gen_random_uuid(), $1::uuid, 'fk', $2::uuid)", tid, o.users[0]!.id),
      );
      const rawNobody = await failure(
        t.$executeRawUnsafe("INSERT INTO tickets (id, tenant_id, title, author_id) VALUES (gen_random_uuid(), $1::uuid, 'fk', $2::uuid)", tid, nobody),
      );
      expect(codeOf(raw)).toBe(codeOf(rawNobody));
      expect(
        render(raw)
          .split(o.users[0]!.id)
          .join("<id>")
          .replace(/\s+at .*$/gm, ""),
      ).toBe(
        render(rawNobody)
          .split(nobody)
          .join("<id>")
          .replace(/\s+at .*$/gm, ""),
      );
    }
  });

  it("a unique value another tenant uses is free here (same email in two tenants)", async () => {
    const { self, others, t, tid } = ctx();
    for (const o of others) {
      const theirs = o.users[0]!.email;
      const mine = await t.user.create({ data: { tenant_id: tid, email: theirs } });
      expectOnlyTenant({ tenant_id: mine.tenant_id }, self, others);
      const dup = await rejectsClean(t.user.create({ data: { tenant_id: tid, email: theirs } }), others);
      expect(codeOf(dup)).toBe("P2002");
      await t.user.delete({ where: { id: mine.id } });
    }
    expect(await t.user.count({ where: { email: "shared@same.test" } })).toBe(1);
  });
});

describe("TRUNCATE", () => {
  it.each(["SHARED_RLS", "SCHEMA"] as const)("%s: the app role gets permission denied, scoped or not", async (strategy) => {
    const found = targets(world).find(([name]) => name === strategy)!;
    const t = world.solo.prisma.$tenant(found[1].tenant.id);
    for (const statement of [
      "TRUNCATE users CASCADE",
      "TRUNCATE tickets",
      "TRUNCATE public.users, public.tickets",
      `TRUNCATE "${world.schema[1].tenant.placement}".tickets`,
    ]) {
      const scoped = await failure(t.$executeRawUnsafe(statement));
      expect(render(scoped), statement).toMatch(/permission denied|42501/);
      const unscoped = await failure(world.solo.prisma.$executeRawUnsafe(statement));
      expect(render(unscoped), statement).toMatch(/permission denied|42501|does not exist|42P01/);
    }
    const privileges = await world.admin.query(
      `SELECT n.nspname || '.' || c.relname AS t, has_table_privilege('stratum_app', c.oid, 'TRUNCATE') AS tr,
              has_table_privilege('stratum_app', c.oid, 'REFERENCES') AS rf, has_table_privilege('stratum_app', c.oid, 'TRIGGER') AS tg
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname IN ('users', 'tickets') AND c.relkind = 'r'`,
    );
    expect(privileges.rows.length).toBeGreaterThanOrEqual(2 + 2 * world.schema.length);
    for (const row of privileges.rows as Array<{ t: string; tr: boolean; rf: boolean; tg: boolean }>)
      expect({ ...row, tr: row.tr || row.rf || row.tg }).toEqual({ ...row, tr: false, rf: false, tg: false });
  });
});
