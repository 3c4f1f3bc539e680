import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAbacService, evaluateCondition, type Condition } from "../src/abac/index.js";
import { isStratumError } from "../src/core/errors.js";
import { countingDb, createScratchDb, insertChain, recordingAudit, type ScratchDb } from "./support/config-db.js";

let s: ScratchDb;
beforeAll(async () => {
  s = await createScratchDb("abac");
});
afterAll(async () => {
  await s?.drop();
});

describe("ABAC operators", () => {
  const input = {
    subject: { id: "u1", role: "admin", level: 5, tags: ["ops", "oncall"], email: "a@acme.test", joined: "2024-03-01" },
    action: "read",
    resource: { type: "ticket", owner_id: "u1", severity: 3 },
    context: { ip: "10.0.0.1" },
  };
  const cases: Array<[Condition, boolean]> = [
    [{ attribute: "subject.role", op: "eq", value: "admin" }, true],
    [{ attribute: "subject.role", op: "eq", value: "user" }, false],
    [{ attribute: "subject.role", op: "neq", value: "user" }, true],
    [{ attribute: "subject.role", op: "in", value: ["admin", "owner"] }, true],
    [{ attribute: "subject.role", op: "in", value: ["user"] }, false],
    [{ attribute: "subject.role", op: "not_in", value: ["user"] }, true],
    [{ attribute: "subject.role", op: "not_in", value: ["admin"] }, false],
    [{ attribute: "subject.level", op: "gt", value: 4 }, true],
    [{ attribute: "subject.level", op: "gt", value: 5 }, false],
    [{ attribute: "subject.level", op: "gte", value: 5 }, true],
    [{ attribute: "subject.level", op: "lt", value: 5 }, false],
    [{ attribute: "subject.level", op: "lte", value: 5 }, true],
    [{ attribute: "subject.joined", op: "lt", value: "2025-01-01" }, true],
    [{ attribute: "subject.level", op: "gt", value: "4" }, false], // mixed types never compare
    [{ attribute: "subject.tags", op: "contains", value: "oncall" }, true],
    [{ attribute: "subject.email", op: "contains", value: "@acme." }, true],
    [{ attribute: "subject.tags", op: "contains", value: "dev" }, false],
    [{ attribute: "resource.owner_id", op: "eq", ref: "subject.id" }, true],
    [{ attribute: "resource.severity", op: "lte", ref: "subject.level" }, true],
    [{ attribute: "context.ip", op: "eq", value: "10.0.0.1" }, true],
    [{ attribute: "action", op: "in", value: ["read", "list"] }, true],
    // missing attributes are false whatever the operator
    [{ attribute: "subject.missing", op: "neq", value: "x" }, false],
    [{ attribute: "subject.missing", op: "not_in", value: ["x"] }, false],
    [{ attribute: "resource.owner_id", op: "eq", ref: "subject.nothing" }, false],
  ];
  it.each(cases)("%j → %s", (condition, expected) => {
    expect(evaluateCondition(condition, input)).toBe(expected);
  });
});

describe("ABAC policies on the tree", () => {
  it("inherits down the tree, deny overrides allow, and explains the decision", async () => {
    const counted = countingDb(s.db);
    const abac = createAbacService(counted, { audit: recordingAudit() });
    const [root, msp, client] = (await insertChain(s.db, 3)) as [string, string, string];
    await abac.createPolicy(root, {
      name: "admins-read-tickets",
      effect: "allow",
      actions: ["read", "update"],
      resource_type: "ticket",
      conditions: [{ attribute: "subject.role", op: "eq", value: "admin" }],
    });
    await abac.createPolicy(msp, {
      name: "owners-everything",
      effect: "allow",
      actions: ["*"],
      conditions: [{ attribute: "resource.owner_id", op: "eq", ref: "subject.id" }],
    });
    await abac.createPolicy(client, {
      name: "no-updates-on-closed",
      effect: "deny",
      actions: ["update"],
      resource_type: "ticket",
      conditions: [{ attribute: "resource.status", op: "eq", value: "closed" }],
    });
    const admin = { id: "u1", role: "admin" };
    const ticket = { type: "ticket", owner_id: "u2", status: "open" };

    counted.reset();
    const read = await abac.evaluate(client, admin, "read", ticket);
    expect(counted.count).toBe(1);
    expect(read.allowed).toBe(true);
    expect(read.decidedBy).toMatchObject({ name: "admins-read-tickets", tenant_id: root, effect: "allow", inherited: true });
    expect(read.reason).toContain("admins-read-tickets");

    const closedUpdate = await abac.evaluate(client, admin, "update", { ...ticket, status: "closed" });
    expect(closedUpdate.allowed).toBe(false);
    expect(closedUpdate.decidedBy).toMatchObject({ name: "no-updates-on-closed", effect: "deny", inherited: false });
    expect(closedUpdate.reason).toMatch(/deny overrides the matching allow/);

    // the deny lives at the client: the MSP (its parent) is not affected
    expect((await abac.evaluate(msp, admin, "update", { ...ticket, status: "closed" })).allowed).toBe(true);
    // the owner policy lives at the MSP: the root does not see it
    const owner = { id: "u2", role: "user" };
    expect((await abac.evaluate(msp, owner, "delete", ticket)).decidedBy?.name).toBe("owners-everything");
    const none = await abac.evaluate(root, owner, "delete", ticket);
    expect(none).toMatchObject({ allowed: false, decidedBy: null });
    expect(none.reason).toMatch(/denied by default/);
    // resource type must match
    expect((await abac.evaluate(client, admin, "read", { type: "invoice" })).allowed).toBe(false);

    // updates and deletes apply; archived ancestors drop out
    await abac.updatePolicy(root, "admins-read-tickets", { conditions: [{ attribute: "subject.role", op: "in", value: ["admin", "agent"] }] });
    expect((await abac.evaluate(client, { id: "x", role: "agent" }, "read", ticket)).allowed).toBe(true);
    await abac.deletePolicy(client, "no-updates-on-closed");
    expect((await abac.evaluate(client, admin, "update", { ...ticket, status: "closed" })).allowed).toBe(true);
    await s.db.execute(`UPDATE stratum_tenants SET status = 'archived' WHERE id = $1`, [root]);
    expect((await abac.evaluate(client, admin, "read", ticket)).allowed).toBe(false);
    expect((await abac.listPolicies(client, { inherited: true })).map((p) => p.name)).toEqual(["owners-everything"]);
  });

  it("validates policies", async () => {
    const abac = createAbacService(s.db, { audit: recordingAudit() });
    const [root] = (await insertChain(s.db, 1)) as [string];
    const bad = async (input: unknown) => {
      try {
        await abac.createPolicy(root, input as Parameters<typeof abac.createPolicy>[1]);
      } catch (error) {
        return isStratumError(error, "VALIDATION_FAILED");
      }
      return false;
    };
    expect(await bad({ name: "x", effect: "maybe", actions: ["read"] })).toBe(true);
    expect(await bad({ name: "x", effect: "allow", actions: [] })).toBe(true);
    expect(await bad({ name: "x", effect: "allow", actions: ["r"], conditions: [{ attribute: "subject.a", op: "like", value: 1 }] })).toBe(true);
    expect(await bad({ name: "x", effect: "allow", actions: ["r"], conditions: [{ attribute: "user.a", op: "eq", value: 1 }] })).toBe(true);
    expect(await bad({ name: "x", effect: "allow", actions: ["r"], conditions: [{ attribute: "subject.a", op: "in", value: 1 }] })).toBe(true);
    expect(await bad({ name: "x", effect: "allow", actions: ["r"], conditions: [{ attribute: "subject.a", op: "eq" }] })).toBe(true);
    await abac.createPolicy(root, { name: "x", effect: "allow", actions: ["r"] });
    await expect(abac.createPolicy(root, { name: "x", effect: "allow", actions: ["r"] })).rejects.toMatchObject({ code: "CONFLICT" });
  });
});
