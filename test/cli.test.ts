/** `stratum migrate` and `stratum doctor` against real databases. */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { doctor } from "../src/cli/doctor.js";
import { migrate } from "../src/cli/migrate.js";
import { injected } from "./harness/context.js";
import { ownerUrlOf } from "./harness/roles.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";

const migrations = fileURLToPath(new URL("../prisma/migrations", import.meta.url));
let db: TestDatabase;
let fresh: string;
let freshOwner: string;
let admin: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase({ label: "cli" });
  admin = new pg.Client({ connectionString: injected("stratumAdminUrl") });
  await admin.connect();
  fresh = `stratum_test_cli_fresh_${randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${fresh} OWNER stratum_owner`);
  const url = new URL(injected("stratumAdminUrl"));
  url.pathname = `/${fresh}`;
  freshOwner = ownerUrlOf(url.toString());
});

afterAll(async () => {
  await admin?.query(`DROP DATABASE IF EXISTS ${fresh} WITH (FORCE)`);
  await admin?.end();
  await db?.drop();
});

describe("stratum migrate", () => {
  it("applies every migration on an empty database once, and installs the scope key", async () => {
    const key = randomBytes(32).toString("hex");
    const first = await migrate({ url: freshOwner, migrations, scopeKey: key });
    expect(first.applied.length).toBeGreaterThanOrEqual(2);
    expect(first.scopeKeyInstalled).toBe(true);
    const again = await migrate({ url: freshOwner, migrations });
    expect(again.applied).toEqual([]);
    const c = new pg.Client({ connectionString: freshOwner });
    await c.connect();
    try {
      expect((await c.query("SELECT key FROM stratum_scope_keys")).rows).toEqual([{ key }]);
    } finally {
      await c.end();
    }
  });

  it("rotates the scope key: the previous one stays accepted until --retire-previous-key", async () => {
    const keys = async () => {
      const c = new pg.Client({ connectionString: freshOwner });
      await c.connect();
      try {
        return (await c.query("SELECT id, key FROM stratum_scope_keys ORDER BY id")).rows;
      } finally {
        await c.end();
      }
    };
    const [old] = await keys();
    const next = randomBytes(32).toString("hex");
    expect((await migrate({ url: freshOwner, migrations, scopeKey: next })).previousKeyRetired).toBe(false);
    expect(await keys()).toEqual([
      { id: 1, key: next },
      { id: 2, key: old.key },
    ]);
    expect((await migrate({ url: freshOwner, migrations, retirePreviousKey: true })).previousKeyRetired).toBe(true);
    expect(await keys()).toEqual([{ id: 1, key: next }]);
  });

  it("refuses a short scope key", async () => {
    await expect(migrate({ url: freshOwner, migrations, scopeKey: "short" })).rejects.toThrow(/at least 32/);
  });
});

describe("stratum doctor", () => {
  it("passes the app role and flags the owner", async () => {
    expect(await doctor(db.appUrl, ["users", "tickets"])).toMatchObject({ ok: true, role: "stratum_app", problems: [], warnings: [] });
    const owner = await doctor(db.ownerUrl, ["users", "tickets"]);
    expect(owner.ok).toBe(false);
    expect(owner.problems.join(" ")).toMatch(/owns tenant tables/);
  });
});
