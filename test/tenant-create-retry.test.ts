/**
 * The one-round-trip create's refusals (src/tenants/create.ts), against a stub Db: a refused
 * insert is classified after the rollback, a parent that moved is retried in a new transaction,
 * and a parent that never stops moving ends in a typed error instead of a loop.
 */
import { describe, expect, it } from "vitest";
import type { Db } from "../src/core/db.js";
import { isStratumError } from "../src/index.js";
import { createInOneTrip } from "../src/tenants/create.js";

const PARENT = "00000000-0000-4000-8000-000000000001";
const pgError = (code: string) =>
  Object.assign(new Error(code === "23505" ? 'duplicate key value violates unique constraint "stratum_tenants_slug_key"' : `pg ${code}`), { code });

/** A Db whose create statement fails with `failures` in turn, then answers a row; the parent's status and depth as given. */
function stubDb(failures: string[], parent: { status: string; depth: number } | null) {
  const calls = { transactions: 0 };
  const db: Db = {
    async query<T>(sql: string): Promise<T[]> {
      if (sql.includes("p.status, p.depth")) return (parent ? [parent] : []) as T[];
      const code = failures.shift();
      if (code) throw pgError(code);
      return [{ id: "x", parent_id: PARENT, slug: "child", name: "Child", path: [PARENT, "x"], depth: 1, status: "active", metadata: {} }] as T[];
    },
    execute: async () => 0,
    async transaction(fn) {
      calls.transactions++;
      return fn(db);
    },
  };
  return { db, calls };
}

const child = { parentId: PARENT, slug: "child", name: "Child", strategy: "SHARED_RLS", metadata: {} };
const codeOf = (error: unknown) => (isStratumError(error) ? error.code : String(error));

describe("createInOneTrip's refusals", () => {
  it("retries a parent that moved while its locks were awaited, in a new transaction", async () => {
    const { db, calls } = stubDb(["23502", "23502"], { status: "active", depth: 0 });
    expect((await createInOneTrip(db, child, async () => undefined)).slug).toBe("child");
    expect(calls.transactions).toBe(3);
  });

  it("names why: archived, missing, too deep, slug taken; other refusals are PostgreSQL's own", async () => {
    const refused = (failures: string[], parent: { status: string; depth: number } | null) =>
      createInOneTrip(stubDb(failures, parent).db, child, async () => undefined).then(() => "created", codeOf);
    expect(await refused(["23502"], { status: "archived", depth: 0 })).toBe("TENANT_ARCHIVED");
    expect(await refused(["23503"], null)).toBe("TENANT_NOT_FOUND");
    expect(await refused(["23514"], { status: "active", depth: 19 })).toBe("MAX_DEPTH_EXCEEDED");
    expect(await refused(["23505"], { status: "active", depth: 0 })).toBe("SLUG_TAKEN");
    expect(await refused(["23514"], { status: "active", depth: 0 })).toBe("Error: pg 23514");
  });

  it("ends with CONFLICT, not a loop, when the parent never stops moving", async () => {
    const { db, calls } = stubDb(
      Array.from({ length: 100 }, () => "23502"),
      { status: "active", depth: 0 },
    );
    expect(await createInOneTrip(db, child, async () => undefined).then(() => "created", codeOf)).toBe("CONFLICT");
    expect(calls.transactions).toBe(21);
  });
});
