/**
 * Input that would reach SQL malformed is refused first, with a typed error: tenant ids that are
 * not uuids, strings holding NUL, config values over the size limit, and a scope key the
 * database does not hold (refused at the first statement, and reported by the doctor).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStratumError, runWithTenant, type ErrorCode, type Tenant } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { stratumTestClient } from "../support/stratum-client.js";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let tenant: Tenant;
const $ = () => client.prisma.$stratum;

beforeAll(async () => {
  db = await createTestDatabase({ label: "input_validation" });
  client = stratumTestClient(db);
  tenant = await $().createTenant({ name: "Validated" });
});

afterAll(async () => {
  await client?.close();
  await db?.drop();
});

async function codeOf(run: () => unknown): Promise<ErrorCode | string> {
  try {
    await run();
    return "no error";
  } catch (error) {
    return isStratumError(error) ? error.code : String(error);
  }
}

describe("tenant ids", () => {
  it("$tenant, runWithTenant and the services refuse a non-uuid id with INVALID_TENANT_ID", async () => {
    expect(await codeOf(() => client.prisma.$tenant("x").user.findMany())).toBe("INVALID_TENANT_ID");
    expect(await codeOf(() => client.prisma.$tenant("'; DROP TABLE users; --"))).toBe("INVALID_TENANT_ID");
    expect(await codeOf(() => runWithTenant("x", () => client.prisma.user.findMany()))).toBe("INVALID_TENANT_ID");
    expect(await codeOf(() => $().getTenant("x"))).toBe("INVALID_TENANT_ID");
    expect(await codeOf(() => $().setConfig("x", "theme", { value: "dark" }))).toBe("INVALID_TENANT_ID");
    expect(await codeOf(() => $().resolvePermissions("acme"))).toBe("INVALID_TENANT_ID");
    expect(await codeOf(() => $().deleteTenant("x"))).toBe("INVALID_TENANT_ID");
    expect(await codeOf(() => $().diffConfig(tenant.id, "x"))).toBe("INVALID_TENANT_ID");
    expect(await codeOf(() => $().exportTenantData("x"))).toBe("INVALID_TENANT_ID");
  });
});

describe("NUL characters", () => {
  it("are refused with VALIDATION_FAILED in model arguments, raw parameters and service input", async () => {
    const t = client.prisma.$tenant(tenant.id);
    expect(await codeOf(() => t.user.create({ data: { tenant_id: tenant.id, email: "a\0b@x.test" } }))).toBe("VALIDATION_FAILED");
    expect(await codeOf(() => t.user.findMany({ where: { name: "nul\0" } }))).toBe("VALIDATION_FAILED");
    expect(await codeOf(() => runWithTenant(tenant.id, () => client.prisma.user.findFirst({ where: { email: "\0" } })))).toBe("VALIDATION_FAILED");
    expect(await codeOf(() => t.$queryRawUnsafe("SELECT $1::text", "a\0"))).toBe("VALIDATION_FAILED");
    expect(await codeOf(() => $().createTenant({ name: "Nul\0Name" }))).toBe("VALIDATION_FAILED");
    expect(await codeOf(() => $().setConfig(tenant.id, "theme", { value: { nested: ["ok", "n\0"] } }))).toBe("VALIDATION_FAILED");
    expect(await t.user.count()).toBe(0);
  });

  it("name where the NUL sits, inside lists too", async () => {
    const error = await client.prisma
      .$tenant(tenant.id)
      .user.findMany({ where: { OR: [{ name: "ok" }, { email: "x\0" }] } })
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    expect(isStratumError(error, "VALIDATION_FAILED")).toBe(true);
    expect(error?.message).toContain("Invalid User.findMany arguments: where.OR.1.email contains a NUL character");
  });
});

describe("config value size", () => {
  it("refuses values over the default 64 KiB with CONFIG_VALUE_TOO_LARGE, and accepts ones under it", async () => {
    expect(await codeOf(() => $().setConfig(tenant.id, "blob", { value: "x".repeat(70 * 1024) }))).toBe("CONFIG_VALUE_TOO_LARGE");
    expect((await $().setConfig(tenant.id, "blob", { value: "x".repeat(60 * 1024) })).key).toBe("blob");
  });

  it("honours a configured limit", async () => {
    const small = stratumTestClient(db, { config: { maxValueBytes: 16 } });
    try {
      expect(await codeOf(() => small.prisma.$stratum.setConfig(tenant.id, "tiny", { value: "seventeen chars!!" }))).toBe("CONFIG_VALUE_TOO_LARGE");
      expect((await small.prisma.$stratum.setConfig(tenant.id, "tiny", { value: "short" })).key).toBe("tiny");
    } finally {
      await small.close();
    }
  });
});

describe("scope key", () => {
  it("a key the database does not hold is SCOPE_KEY_MISMATCH at the first statement, and the doctor says so", async () => {
    const wrong = stratumTestClient({ ...db, scopeKey: "f".repeat(64) });
    try {
      expect(await codeOf(() => wrong.prisma.$tenant(tenant.id).user.findMany())).toBe("SCOPE_KEY_MISMATCH");
      expect(await codeOf(() => wrong.prisma.$stratum.getTenant(tenant.id))).toBe("SCOPE_KEY_MISMATCH");
      const report = await wrong.prisma.$stratum.doctor();
      expect(report.ok).toBe(false);
      expect(report.problems[0]).toMatch(/^SCOPE_KEY_MISMATCH/);
      expect((await $().doctor()).ok).toBe(true);
    } finally {
      await wrong.close();
    }
  });
});
