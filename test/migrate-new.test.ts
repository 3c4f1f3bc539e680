/**
 * `stratum-prisma migrate new`: the tables' migration from the schema, with a security migration
 * that `prisma generate` wrote before those tables existed moved after them, so `migrate` applies
 * a fresh project's migrations in an order that works.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createMigration, movableSecurityMigrations } from "../src/migrate/create.js";
import { applyMigrationsToUrl, listMigrations } from "../src/migrate/runner.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { MIGRATIONS_DIR, SCHEMA_DIR } from "./harness/template.js";

const dirs: string[] = [];
const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const security = listMigrations(MIGRATIONS_DIR).find((m) => m.name.endsWith("_stratum_security"));

describe("migrate new", () => {
  it("moves a not-yet-applied security migration after the tables it secures, and the result applies", async () => {
    if (!security) throw new Error("the repo has no security migration to start from");
    const dir = mkdtempSync(join(tmpdir(), "stratum-migrate-new-"));
    dirs.push(dir);
    // `generate` ran first: the security migration is the only one, stamped before any table.
    const early = "20200101000000_stratum_security";
    mkdirSync(join(dir, early));
    cpSync(security.path, join(dir, early, "migration.sql"));

    const created = await createMigration({ adminUrl: inject("stratumAdminUrl"), migrationsDir: dir, schemaDir: SCHEMA_DIR, name: "init", applied: new Set() });
    expect(created).not.toBeNull();
    const [from, to] = created!.moved[0] ?? [];
    expect(from).toBe(early);
    expect(to! > created!.folder).toBe(true);
    expect(
      readdirSync(dir)
        .filter((n) => /^\d{14}_/.test(n))
        .sort(),
    ).toEqual([created!.folder, to]);
    expect(readFileSync(join(dir, created!.folder, "migration.sql"), "utf8")).toContain('CREATE TABLE "stratum_tenants"');
    expect(existsSync(join(dir, "migration_lock.toml"))).toBe(true);

    const db = await createTestDatabase({ empty: true, label: "mig_new" });
    dbs.push(db);
    const result = await applyMigrationsToUrl(db.ownerUrl, { migrationsDir: dir });
    expect(result.applied).toEqual([created!.folder, to]);
  });

  it("never moves history: a security migration already applied, or one followed by another migration, stays", () => {
    const folders = ["20260101000000_init", "20260101000001_stratum_security", "20260102000000_more", "20260102000001_stratum_security"];
    expect(movableSecurityMigrations(folders, new Set())).toEqual(["20260102000001_stratum_security"]);
    expect(movableSecurityMigrations(folders, new Set(["20260102000001_stratum_security"]))).toEqual([]);
    expect(movableSecurityMigrations(["20260101000000_init"], new Set())).toEqual([]);
  });
});
