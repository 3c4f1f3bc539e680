/**
 * A plan check that fails (src/isolation/plan-choice.ts, run by the driver after a page's first
 * call): the caller still gets its rows, the connection is handed back out of the check's
 * transaction, and the statement keeps PostgreSQL's own plan choice. The failure is injected by
 * pointing the check's EXPLAIN at a statement that does not exist, after its BEGIN has run.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type OneConnectionTenant, oneConnectionTenant, preparedPlans } from "./support/prepared-plans.js";

const failing = vi.hoisted(() => ({ on: false, failed: 0 }));
vi.mock("../src/isolation/plan-choice.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/isolation/plan-choice.js")>();
  return {
    ...actual,
    explainExecuteSql: (name: string, literals: readonly string[]) => {
      if (!failing.on) return actual.explainExecuteSql(name, literals);
      failing.failed++;
      return actual.explainExecuteSql("stratum_no_such_statement", literals);
    },
  };
});

describe("a plan check that fails", () => {
  let f: OneConnectionTenant;

  beforeAll(async () => {
    f = await oneConnectionTenant("plan_check_fail", "Failing check", 30);
  });

  afterAll(() => f?.close());

  it("still answers the call, leaves no transaction open on the connection, and forces nothing", async () => {
    const t = f.client.prisma.$tenant(f.tenant.id);
    failing.on = true;
    expect(await t.user.findMany({ take: 10, orderBy: { id: "asc" } })).toHaveLength(10);
    failing.on = false;
    expect(failing.failed).toBe(1);
    // The same connection, next: a write fails with 25P02 (aborted) or 25006 (read-only) if the
    // check's transaction were still open.
    expect(await t.user.create({ data: { tenant_id: f.tenant.id, email: "after@check.test" } })).toMatchObject({ tenant_id: f.tenant.id });
    for (let i = 0; i < 6; i++) expect(await t.user.findMany({ take: 10, skip: i, orderBy: { id: "asc" } })).toHaveLength(10);
    const plans = await preparedPlans(t, '%"users"%ORDER BY%LIMIT $1 OFFSET $2');
    // Seven calls and no forced generic plan (forced after a good check: 2 custom plans).
    expect(plans.custom).toBeGreaterThanOrEqual(5);
  });
});
