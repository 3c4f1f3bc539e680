/**
 * A view over a tenant table without `security_invoker` runs with its owner's rights: owned by a
 * superuser or BYPASSRLS role it hands every tenant's rows to any scoped query (schema.test.ts
 * shows the leak). docs/architecture.md rule 6 says views are security_invoker; `doctor` (and the
 * start-up check) must name such a view.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { doctor } from "../../src/cli/doctor.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import pg from "pg";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ label: "atk_views" });
});
afterAll(async () => {
  await db?.drop();
});

it("doctor reports a non-invoker view over a tenant table", async () => {
  expect((await doctor(db.appUrl, ["users", "tickets"])).problems).toEqual([]);
  const admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
  try {
    await admin.query("CREATE VIEW public.leaky_users AS SELECT * FROM public.users");
    await admin.query("GRANT SELECT ON public.leaky_users TO stratum_app");
  } finally {
    await admin.end();
  }
  const report = await doctor(db.appUrl, ["users", "tickets"]);
  expect(report.ok).toBe(false);
  expect(report.problems.join("\n")).toMatch(/leaky_users/);
});
