import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuditService, runWithActor } from "../src/audit/index.js";
import { createConsentService, type ConsentService } from "../src/consent/index.js";
import { isStratumError } from "../src/core/errors.js";
import { createComplianceDb, insertTenant, type ComplianceDb } from "./support/compliance-db.js";

let cdb: ComplianceDb;
let consents: ConsentService;
let tenant: string;
let other: string;

beforeAll(async () => {
  cdb = await createComplianceDb();
  consents = createConsentService(cdb.db, { audit: createAuditService(cdb.db) });
  tenant = await insertTenant(cdb.db, "con_a");
  other = await insertTenant(cdb.db, "con_b");
});

afterAll(async () => {
  await cdb?.drop();
});

describe("consent", () => {
  it("records, withdraws and lists current state and full history", async () => {
    await runWithActor({ id: "u1", type: "user" }, async () => {
      await consents.grant(tenant, "subj-1", "marketing_email", "signup_form");
      await consents.grant(tenant, "subj-1", "analytics");
      await consents.withdraw(tenant, "subj-1", "marketing_email", "preferences_page");
      await consents.grant(tenant, "subj-2", "marketing_email");
      await consents.grant(other, "subj-1", "analytics");
    });

    const current = await consents.current(tenant, "subj-1");
    expect(current.map((c) => [c.purpose, c.granted])).toEqual([
      ["analytics", true],
      ["marketing_email", false],
    ]);
    expect(await consents.has(tenant, "subj-1", "marketing_email")).toBe(false);
    expect(await consents.has(tenant, "subj-1", "analytics")).toBe(true);
    expect(await consents.has(tenant, "subj-2", "marketing_email")).toBe(true);
    expect(await consents.has(tenant, "subj-3", "marketing_email")).toBe(false);

    const history = await consents.history(tenant, "subj-1", "marketing_email");
    expect(history.map((c) => [c.granted, c.source])).toEqual([
      [true, "signup_form"],
      [false, "preferences_page"],
    ]);
    expect(await consents.history(tenant, "subj-1")).toHaveLength(3);

    // Re-granting appends again; history keeps all of it.
    await consents.grant(tenant, "subj-1", "marketing_email");
    expect(await consents.has(tenant, "subj-1", "marketing_email")).toBe(true);
    expect(await consents.history(tenant, "subj-1", "marketing_email")).toHaveLength(3);

    // Other tenants' consents stay apart.
    expect((await consents.current(other, "subj-1")).map((c) => c.purpose)).toEqual(["analytics"]);
  });

  it("writes audit rows with the actor", async () => {
    const rows = await cdb.db.query<{ action: string; actor: string }>(
      `SELECT action, actor FROM stratum_audit WHERE tenant_id = $1 AND action LIKE 'consent.%' ORDER BY id`,
      [tenant],
    );
    expect(rows.map((r) => r.action)).toEqual(["consent.grant", "consent.grant", "consent.withdraw", "consent.grant", "consent.grant"]);
    expect(rows[0]!.actor).toBe("user:u1");
  });

  it("validates input and reports unknown tenants", async () => {
    await expect(consents.grant(tenant, "", "x")).rejects.toSatisfy((e) => isStratumError(e, "VALIDATION_FAILED"));
    await expect(consents.grant(tenant, "s", "Bad Purpose")).rejects.toSatisfy((e) => isStratumError(e, "VALIDATION_FAILED"));
    await expect(consents.grant("00000000-0000-4000-8000-000000000000", "s", "x")).rejects.toSatisfy((e) => isStratumError(e, "TENANT_NOT_FOUND"));
  });
});
