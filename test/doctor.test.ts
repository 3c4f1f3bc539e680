/** Start-up refusal: scoped queries never run on a connection that could bypass the policies. */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/prisma/client.js";
import { stratumModels } from "../generated/stratum/index.js";
import { isStratumError, stratum, stratumAdapter } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";

let db: TestDatabase;
let tenantId: string;

function clientAs(url: string) {
  const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: url }) });
  return { prisma: base.$extends(stratum({ models: stratumModels, scopeKey: db.scopeKey })), close: () => base.$disconnect() };
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "doctor" });
  const app = stratumTestClient(db);
  tenantId = (await app.prisma.$stratum.createTenant({ name: "Doc" })).id;
  await app.close();
});

afterAll(async () => {
  await db?.drop();
});

describe("connection check", () => {
  it("passes for the app role", async () => {
    const app = clientAs(db.appUrl);
    try {
      expect(await app.prisma.$stratum.doctor()).toEqual({ ok: true, role: "stratum_app", problems: [] });
      expect(await app.prisma.$tenant(tenantId).user.count()).toBe(0);
    } finally {
      await app.close();
    }
  });

  it.each([
    ["the table owner", () => db.ownerUrl, /owns tenant tables \(.*users/],
    ["a superuser", () => db.adminUrl, /superuser/],
  ])("refuses %s with UNSAFE_CONNECTION before any scoped query", async (_who, url, problem) => {
    const c = clientAs(url());
    try {
      const report = await c.prisma.$stratum.doctor();
      expect(report.ok).toBe(false);
      expect(report.problems.join("; ")).toMatch(problem);
      const error = await c.prisma
        .$tenant(tenantId)
        .user.findMany()
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isStratumError(error, "UNSAFE_CONNECTION")).toBe(true);
    } finally {
      await c.close();
    }
  });

  it("refuses a role holding TRUNCATE on a tenant table", async () => {
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    const role = `doctor_${Date.now()}`;
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'x' IN ROLE stratum_app`);
      await admin.query(`GRANT TRUNCATE ON users TO ${role}`);
      const url = new URL(db.appUrl);
      url.username = role;
      url.password = "x";
      const c = clientAs(url.toString());
      try {
        const report = await c.prisma.$stratum.doctor();
        expect(report.problems.join("; ")).toMatch(/users:TRUNCATE/);
      } finally {
        await c.close();
      }
    } finally {
      await admin.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
      await admin.end();
    }
  });
});

describe("views and definer functions (rule 6)", () => {
  it("refuses while a superuser-owned view over a tenant table is readable, and accepts it as security_invoker", async () => {
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    try {
      await admin.query("CREATE VIEW all_users AS SELECT id, tenant_id FROM users");
      await admin.query("GRANT SELECT ON all_users TO stratum_app");
      const c = clientAs(db.appUrl);
      try {
        const report = await c.prisma.$stratum.doctor();
        expect(report.problems.join(" ")).toMatch(/public\.all_users .*security_invoker|views owned by a superuser.*public\.all_users/);
      } finally {
        await c.close();
      }
      await admin.query("ALTER VIEW all_users SET (security_invoker = true)");
      await admin.query("CREATE FUNCTION peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM users'");
      const c2 = clientAs(db.appUrl);
      try {
        const report = await c2.prisma.$stratum.doctor();
        expect(report.problems).toHaveLength(1);
        expect(report.problems[0]).toMatch(/SECURITY DEFINER functions without a pinned search_path: public\.peek/);
      } finally {
        await c2.close();
      }
    } finally {
      await admin.query("DROP VIEW IF EXISTS all_users; DROP FUNCTION IF EXISTS peek()");
      await admin.end();
    }
  });
});
