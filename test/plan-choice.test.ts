/**
 * Generic plans kept where they are PostgreSQL's own plan (src/isolation/plan-choice.ts): which
 * statements qualify, how plans are compared, the per-pool verdicts, and — on a real PostgreSQL —
 * that a scoped page stops being planned per call once its two plans were found the same, while
 * other statements and differing plans are left to PostgreSQL.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explainExecuteSql, limitOnlyLiterals, PlanChoices, planShape } from "../src/isolation/plan-choice.js";
import { type OneConnectionTenant, oneConnectionTenant, preparedPlans } from "./support/prepared-plans.js";

const PAGE = 'SELECT "id" FROM "public"."users" WHERE 1=1 ORDER BY "id" ASC LIMIT $1 OFFSET $2';

describe("which statements may keep a generic plan", () => {
  it("one binding only LIMIT and OFFSET, as digits (Prisma passes them as strings)", () => {
    expect(limitOnlyLiterals(PAGE, ["20", "0"])).toEqual(["20", "0"]);
    expect(limitOnlyLiterals(PAGE, [20, 0n])).toEqual(["20", "0"]);
    expect(limitOnlyLiterals('SELECT COUNT(*) FROM (SELECT "id" FROM "users" WHERE 1=1 OFFSET $1) AS "sub"', ["0"])).toEqual(["0"]);
  });

  it("never one binding another value, or a value that is not a plain non-negative integer", () => {
    expect(limitOnlyLiterals('SELECT "id" FROM "users" WHERE "email" = $1 LIMIT $2 OFFSET $3', ["a@b", "20", "0"])).toBeUndefined();
    expect(limitOnlyLiterals('SELECT "id" FROM "users" WHERE "email" LIKE $1 LIMIT $2', ["a%", "20"])).toBeUndefined();
    expect(limitOnlyLiterals(PAGE, ["20", "0; DROP TABLE users"])).toBeUndefined();
    expect(limitOnlyLiterals(PAGE, ["-1", "0"])).toBeUndefined();
    expect(limitOnlyLiterals(PAGE, [20.5, 0])).toBeUndefined();
    expect(limitOnlyLiterals(PAGE, ["20"])).toBeUndefined();
    expect(limitOnlyLiterals('SELECT "id" FROM "users"', [])).toBeUndefined();
  });

  it("names the prepared statement quoted in its EXPLAIN", () => {
    expect(explainExecuteSql('s_a"b-c', ["20", "0"])).toBe('EXPLAIN (FORMAT JSON) EXECUTE "s_a""b-c"(20, 0)');
  });
});

describe("plan shapes", () => {
  const walk = (cost: number) => ({
    "Node Type": "Limit",
    "Total Cost": cost,
    Plans: [{ "Node Type": "Index Scan", "Relation Name": "users", "Index Name": "users_tenant_id_id_key", "Scan Direction": "Forward", "Plan Rows": cost }],
  });
  it("are equal for the same plan at different costs and estimates", () => {
    expect(planShape(walk(86))).toBe(planShape(walk(785)));
  });
  it("differ when an index walk becomes a scan and a sort", () => {
    const sorted = {
      "Node Type": "Limit",
      Plans: [{ "Node Type": "Sort", "Sort Key": ["id"], Plans: [{ "Node Type": "Seq Scan", "Relation Name": "users" }] }],
    };
    expect(planShape(walk(86))).not.toBe(planShape(sorted));
  });
});

describe("one pool's verdicts", () => {
  it("are claimed once, kept generic only when so settled, and checked again once old", async () => {
    const choices = new PlanChoices(30);
    const key = PlanChoices.key("pg_catalog, public, pg_temp", "s_page");
    expect(choices.modeFor(key)).toBe("");
    expect(choices.claim(key)).toBe(true);
    expect(choices.claim(key)).toBe(false); // a check under way is not started twice
    choices.settle(key, true);
    expect(choices.modeFor(key)).toBe("force_generic_plan");
    expect(choices.claim(key)).toBe(false);
    const other = PlanChoices.key("pg_catalog, public, pg_temp", "s_other");
    choices.claim(other);
    choices.settle(other, false);
    expect(choices.modeFor(other)).toBe("");
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(choices.modeFor(key)).toBe("");
    expect(choices.claim(key)).toBe(true);
  });

  it("hold a bounded number of statements", () => {
    const choices = new PlanChoices(60_000, 2);
    for (const name of ["a", "b", "c"]) {
      choices.claim(name);
      choices.settle(name, true);
    }
    expect(choices.modeFor("a")).toBe("");
    expect(choices.modeFor("c")).toBe("force_generic_plan");
  });
});

describe("on PostgreSQL", () => {
  let f: OneConnectionTenant;

  beforeAll(async () => {
    f = await oneConnectionTenant("plan_choice", "Plans", 200);
    // Statistics as autovacuum would leave them: every plan below is priced on them.
    const admin = new pg.Client({ connectionString: f.db.adminUrl });
    await admin.connect();
    await admin.query("ANALYZE users").finally(() => admin.end());
  });

  afterAll(() => f?.close());

  const plansOf = (like: string) => preparedPlans(f.client.prisma.$tenant(f.tenant.id), like);

  it("a page binding only LIMIT/OFFSET runs on its generic plan once its two plans are the same", async () => {
    const t = f.client.prisma.$tenant(f.tenant.id);
    for (let i = 0; i < 8; i++) expect(await t.user.findMany({ take: 5, skip: i, orderBy: { id: "asc" } })).toHaveLength(5);
    // PostgreSQL alone plans the first five executions afresh (5 custom, 3 generic); here the first
    // call is custom, its check makes one plan of each kind, and the seven calls after it reuse
    // the generic plan.
    expect(await plansOf('%"users"%ORDER BY%LIMIT $1 OFFSET $2')).toEqual({ generic: 8, custom: 2 });
  });

  it("a statement binding a filter value is left to PostgreSQL", async () => {
    const t = f.client.prisma.$tenant(f.tenant.id);
    for (let i = 0; i < 3; i++) expect(await t.user.findMany({ where: { email: { startsWith: "u1" } }, take: 5, orderBy: { email: "asc" } })).toHaveLength(5);
    expect(await plansOf('%"users"%LIKE%LIMIT $2 OFFSET $3')).toEqual({ generic: 0, custom: 3 });
  });

  it("the check leaves nothing on the connection: the session's plan mode, and no read-only transaction left open", async () => {
    const t = f.client.prisma.$tenant(f.tenant.id);
    await t.user.findMany({ take: 3, orderBy: { email: "desc" } });
    const [state] = await t.$queryRawUnsafe<Array<{ mode: string }>>("SELECT current_setting('plan_cache_mode') AS mode");
    expect(state).toEqual({ mode: "auto" });
    await t.user.findMany({ take: 4, orderBy: { name: "desc" } });
    expect(await t.user.create({ data: { tenant_id: f.tenant.id, email: "after-check@plans.test" } })).toMatchObject({ tenant_id: f.tenant.id });
  });
});

describe("on PostgreSQL, where the two plans differ", () => {
  let f: OneConnectionTenant;

  beforeAll(async () => {
    f = await oneConnectionTenant("plan_choice_skew", "Skewed");
    // A skewed table: 1,000 tenants of 10 rows and this one of 300. PostgreSQL expects 10 rows of
    // the scope's tenant (its value is an InitPlan, unknown when planning), so a custom plan for
    // LIMIT 20 sorts all of them, while the generic plan (LIMIT guessed at 10 % of 10) walks
    // (tenant_id, id): not the same plan, so the generic one must not be forced.
    const admin = new pg.Client({ connectionString: f.db.adminUrl });
    await admin.connect();
    try {
      await admin.query(
        "INSERT INTO stratum_tenants (id, slug, name, updated_at) SELECT md5('skew' || g)::uuid, 'skew_' || g, 'Skew ' || g, now() FROM generate_series(1, 1000) g",
      );
      await admin.query(
        `INSERT INTO users (id, tenant_id, email) SELECT gen_random_uuid(), md5('skew' || (1 + g % 1000))::uuid, 'o' || g || '@skew.test' FROM generate_series(1, 10000) g
         UNION ALL SELECT gen_random_uuid(), $1::uuid, 's' || g || '@skew.test' FROM generate_series(1, 300) g`,
        [f.tenant.id],
      );
      await admin.query("ANALYZE users");
    } finally {
      await admin.end();
    }
  });

  afterAll(() => f?.close());

  it("the page is checked and left to PostgreSQL: planned afresh for its first calls, as without stratum", async () => {
    const t = f.client.prisma.$tenant(f.tenant.id);
    for (let i = 0; i < 8; i++) expect(await t.user.findMany({ take: 20, skip: i, orderBy: { id: "asc" } })).toHaveLength(20);
    const plans = await preparedPlans(t, '%"users"%ORDER BY%LIMIT $1 OFFSET $2');
    // Eight calls and the check's two EXPLAINs; PostgreSQL's own five custom plans (the check's
    // custom one among them), so the generic plan was never forced (forced: 2 custom, 8 generic).
    expect(plans.generic + plans.custom).toBe(10);
    expect(plans.custom).toBeGreaterThanOrEqual(5);
  });
});
