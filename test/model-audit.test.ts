/** Opt-in audit of a tenant model's writes (`/// @stratum.audit` on Ticket): same transaction, with the actor. */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWithActor, type Tenant } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let admin: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase({ label: "modelaudit" });
  client = stratumTestClient(db);
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
});

afterAll(async () => {
  await client?.close();
  await admin?.end();
  await db?.drop();
});

async function auditOf(ticketId: string) {
  const { rows } = await admin.query(
    "SELECT tenant_id, actor, action, target_type, before, after, request_id FROM stratum_audit WHERE target_id = $1 ORDER BY id",
    [ticketId],
  );
  return rows as Array<{
    tenant_id: string;
    actor: string;
    action: string;
    target_type: string;
    before: { title?: string } | null;
    after: { title?: string } | null;
    request_id: string | null;
  }>;
}

describe.each(["SHARED_RLS", "SCHEMA"] as const)("model audit, %s tenant", (strategy) => {
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await client.prisma.$stratum.createTenant({ name: `Audited ${strategy}`, isolation_strategy: strategy });
  });

  it("records insert, update and delete with the actor and the request id", async () => {
    const t = client.prisma.$tenant(tenant.id);
    const user = await t.user.create({ data: { tenant_id: tenant.id, email: "author@a.test" } });
    const ticket = await runWithActor({ id: "alice", type: "user", requestId: "req-1" }, () =>
      t.ticket.create({ data: { tenant_id: tenant.id, title: "first", author_id: user.id } }),
    );
    await runWithActor({ id: "bob", type: "user" }, () => t.ticket.update({ where: { id: ticket.id }, data: { title: "second" } }));
    await t.ticket.delete({ where: { id: ticket.id } });
    const rows = await auditOf(ticket.id);
    expect(rows.map((r) => [r.action, r.actor])).toEqual([
      ["model.tickets.insert", "user:alice"],
      ["model.tickets.update", "user:bob"],
      ["model.tickets.delete", "system:system"],
    ]);
    expect(rows.every((r) => r.tenant_id === tenant.id && r.target_type === "tickets")).toBe(true);
    expect(rows[0]!.request_id).toBe("req-1");
    expect([rows[1]!.before?.title, rows[1]!.after?.title]).toEqual(["first", "second"]);
    expect(rows[2]!.after).toBeNull();
  });

  it("rolls back with the write it records", async () => {
    const t = client.prisma.$tenant(tenant.id);
    const user = await t.user.create({ data: { tenant_id: tenant.id, email: "rollback@a.test" } });
    let id = "";
    await expect(
      t.$transaction(async (tx) => {
        id = (await tx.ticket.create({ data: { tenant_id: tenant.id, title: "doomed", author_id: user.id } })).id;
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await auditOf(id)).toEqual([]);
  });

  it("does not audit models without the tag", async () => {
    const user = await client.prisma.$tenant(tenant.id).user.create({ data: { tenant_id: tenant.id, email: "quiet@a.test" } });
    expect(await auditOf(user.id)).toEqual([]);
  });
});
