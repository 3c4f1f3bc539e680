import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getDMMF } from "@prisma/get-dmmf";
import type { DMMF } from "@prisma/generator-helper";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { generateStratum } from "../generators/core.js";
import { writeSecurityMigration } from "../generators/migration.js";
import { runGenerator, assertGenerated, defaultMigrationsDir } from "../generators/run.js";
import { isStratumError } from "../src/core/errors.js";
import { generatorOptions } from "./support/generator-options.js";

const root = join(import.meta.dirname, "..");
const schemaDir = join(root, "prisma", "schema");
const STRATUM = readFileSync(join(schemaDir, "stratum.prisma"), "utf8");
const HEADER = `datasource db {\n  provider = "postgresql"\n}\n`;

function dmmfOf(files: Array<[string, string]>): DMMF.Document {
  const result = getDMMF({ datamodel: files });
  if (!("datamodel" in result)) throw new Error(`schema did not parse: ${result.reason} ${result.error.message}`);
  return result as DMMF.Document;
}

/** DMMF of stratum's models plus the given app models. */
function dmmfWith(app: string): DMMF.Document {
  return dmmfOf([
    ["schema.prisma", HEADER],
    ["stratum.prisma", STRATUM],
    ["app.prisma", app],
  ]);
}

function repoDmmf(): DMMF.Document {
  return dmmfOf(
    readdirSync(schemaDir)
      .filter((f) => f.endsWith(".prisma"))
      .map((f) => [f, readFileSync(join(schemaDir, f), "utf8")]),
  );
}

const temps: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), "stratum-gen-"));
  temps.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("this repo's schema", () => {
  const result = generateStratum(repoDmmf());

  it("generates without refusals", () => {
    expect(result.errors).toEqual([]);
  });

  it("classifies User and Ticket as tenant-scoped, every Stratum* model as global", () => {
    const { models } = result;
    expect(models.tenantModels).toEqual(["Ticket", "User"]);
    const stratum = Object.keys(models.models).filter((n) => n.startsWith("Stratum"));
    expect(stratum.length).toBeGreaterThanOrEqual(9);
    expect([...models.globalModels].sort()).toEqual(stratum.sort());
    for (const name of stratum) expect(models.models[name]?.table.startsWith("stratum_")).toBe(true);
  });

  it("records database names, keys and relation keys", () => {
    const user = result.models.models["User"];
    const ticket = result.models.models["Ticket"];
    expect(user).toMatchObject({ table: "users", scope: "tenant", tenantField: "tenant_id", tenantColumn: "tenant_id", primaryKey: ["id"] });
    expect(user?.uniques).toEqual([{ fields: ["tenant_id", "email"] }, { fields: ["tenant_id", "id"] }]);
    expect(user?.fields.find((f) => f.name === "id")).toMatchObject({
      column: "id",
      type: "String",
      isId: true,
      hasDefault: true,
      nativeType: "Uuid",
      kind: "scalar",
    });
    expect(user?.fields.find((f) => f.name === "name")).toMatchObject({ isRequired: false });
    expect(user?.fields.find((f) => f.name === "tickets")).toMatchObject({
      kind: "object",
      isList: true,
      relation: { model: "Ticket", fields: [], references: [] },
    });
    expect(ticket).toMatchObject({ table: "tickets", tenantColumn: "tenant_id" });
    expect(ticket?.fields.find((f) => f.name === "author")?.relation).toEqual({
      name: "TicketToUser",
      model: "User",
      fields: ["tenant_id", "author_id"],
      references: ["tenant_id", "id"],
    });
    expect(result.models.models["StratumTenant"]?.fields.find((f) => f.name === "created_at")?.nativeType).toBe("Timestamptz(6)");
    expect(result.models.schemaHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("emits a policy for each tenant table and admin-only policies for stratum's tables", () => {
    const sql = result.securitySql;
    for (const table of ["users", "tickets"]) {
      expect(sql).toContain(`CREATE POLICY stratum_tenant_isolation ON "public"."${table}"`);
      expect(sql).toContain(`ALTER TABLE "public"."${table}" FORCE ROW LEVEL SECURITY;`);
    }
    expect(sql).toContain(`CREATE POLICY stratum_admin_only ON public."stratum_tenants"`);
    expect(sql).toContain(`GRANT SELECT, INSERT ON public."stratum_audit" TO "stratum_app"`);
    expect(sql).not.toContain(`GRANT SELECT, INSERT, UPDATE, DELETE ON public."stratum_scope_keys"`);
  });

  it("emits metadata source importing the configured runtime type", () => {
    const { metadataSource } = generateStratum(repoDmmf(), { runtimeImport: "../../src/core/models.js" });
    expect(metadataSource).toContain(`import type { StratumModels } from "../../src/core/models.js";`);
    expect(metadataSource).toContain("as const satisfies StratumModels;");
    expect(metadataSource).toContain(`"tenantModels": [\n    "Ticket",\n    "User"\n  ]`);
  });

  it("is deterministic", () => {
    const again = generateStratum(repoDmmf());
    expect(again.models.schemaHash).toBe(result.models.schemaHash);
    expect(again.securitySql).toBe(result.securitySql);
  });

  it("matches the committed security migration", () => {
    const dir = join(root, "prisma", "migrations");
    const latest = readdirSync(dir)
      .filter((n) => n.endsWith("_stratum_security"))
      .sort()
      .pop();
    expect(latest, "run `node scripts/prisma.mjs generate` and commit the migration").toBeDefined();
    expect(readFileSync(join(dir, latest as string, "migration.sql"), "utf8")).toBe(result.securitySql);
  });
});

describe("refusals", () => {
  it("names every unclassified model and says what to add", () => {
    const { errors } = generateStratum(
      dmmfWith(`
model Widget {
  id Int @id
}
model Gadget {
  id Int @id
}
`),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("Widget");
    expect(errors[0]).toContain("Gadget");
    expect(errors[0]).toContain("tenant_id");
    expect(errors[0]).toContain("/// @stratum.global");
  });

  it("accepts @stratum.global user models and grants them plainly", () => {
    const result = generateStratum(
      dmmfWith(`
/// Shared lookup table.
/// @stratum.global
model Country {
  code String @id
  @@map("countries")
}
`),
    );
    expect(result.errors).toEqual([]);
    expect(result.models.models["Country"]?.scope).toBe("global");
    expect(result.securitySql).toContain(`GRANT SELECT, INSERT, UPDATE, DELETE ON public."countries" TO "stratum_app";`);
    expect(result.securitySql).not.toContain(`ON public."countries"\n  USING`);
  });

  it("refuses a field @unique that omits the tenant field", () => {
    const { errors } = generateStratum(
      dmmfWith(`
model Account {
  id        String @id @db.Uuid
  tenant_id String @db.Uuid
  email     String @unique
  @@index([tenant_id])
}
`),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Model Account: @unique on email.*does not include tenant_id/);
  });

  it("refuses a named @@unique that omits the tenant field, but allows the single-field @id", () => {
    const { errors } = generateStratum(
      dmmfWith(`
model Account {
  id        String @id @db.Uuid
  tenant_id String @db.Uuid
  email     String
  region    String
  @@unique([email, region], name: "email_region")
  @@index([tenant_id])
}
`),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("Model Account: @@unique([email, region])");
    expect(errors[0]).toContain("email_region");
  });

  it("refuses a compound @@id without the tenant field", () => {
    const { errors } = generateStratum(
      dmmfWith(`
model Membership {
  tenant_id String @db.Uuid
  a         String
  b         String
  @@id([a, b])
  @@index([tenant_id])
}
`),
    );
    expect(errors.join("\n")).toContain("Model Membership: @@id([a, b]) does not include tenant_id");
  });

  it("refuses a relation between tenant models that does not carry the tenant field", () => {
    const { errors } = generateStratum(
      dmmfWith(`
model Project {
  id        String  @id @db.Uuid
  tenant_id String  @db.Uuid
  tasks     Task[]
  @@unique([tenant_id, id])
}
model Task {
  id         String  @id @db.Uuid
  tenant_id  String  @db.Uuid
  project_id String  @db.Uuid
  project    Project @relation(fields: [project_id], references: [id])
  @@index([tenant_id, project_id])
}
`),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("Model Task: relation project -> Project");
    expect(errors[0]).toContain("fields: [tenant_id, project_id]");
  });

  it("refuses a tenant model with no index leading with the tenant field", () => {
    const { errors } = generateStratum(
      dmmfWith(`
model Note {
  id        String @id @db.Uuid
  tenant_id String @db.Uuid
  body      String
  @@index([body, tenant_id])
}
`),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("Model Note: no index leads with tenant_id");
  });

  it("refuses a tenant field that is not a required uuid", () => {
    const { errors } = generateStratum(
      dmmfWith(`
model Note {
  id        String  @id @db.Uuid
  tenant_id String?
  @@index([tenant_id])
}
`),
    );
    expect(errors.join("\n")).toContain("tenant field tenant_id must be declared `tenant_id String @db.Uuid`");
  });

  it("refuses a schema without stratum's own models", () => {
    const { errors } = generateStratum(
      dmmfOf([
        [
          "schema.prisma",
          `${HEADER}
model Note {
  id        String @id @db.Uuid
  tenant_id String @db.Uuid
  @@index([tenant_id])
}
`,
        ],
      ]),
    );
    expect(errors.join("\n")).toContain("stratum init");
  });

  it("refuses unknown @stratum tags (a typo must not drop a flag)", () => {
    const { errors } = generateStratum(
      dmmfWith(`
/// @stratum.globl
model Country {
  code String @id
}
`),
    );
    expect(errors.join("\n")).toContain("unknown doc tag @stratum.globl");
  });

  it("reports all problems at once, as a GENERATOR_REFUSED StratumError", () => {
    const result = generateStratum(
      dmmfWith(`
model Widget {
  id Int @id
}
model Note {
  id        String @id @db.Uuid
  tenant_id String @db.Uuid
  slug      String @unique
}
`),
    );
    expect(result.errors.length).toBe(3);
    expect(result.securitySql).toBe("");
    let caught: unknown;
    try {
      assertGenerated(result);
    } catch (error) {
      caught = error;
    }
    expect(isStratumError(caught, "GENERATOR_REFUSED")).toBe(true);
    expect((caught as Error).message).toContain("Widget");
    expect((caught as Error).message).toContain("slug");
  });
});

describe("mapping and flags", () => {
  it("uses @@map / @map database names and camelCase tenantId", () => {
    const result = generateStratum(
      dmmfWith(`
/// @stratum.audit
model Order {
  id        String @id @db.Uuid
  tenantId  String @map("tenant_id") @db.Uuid
  /// @stratum.encrypted
  cardToken String @map("card_token")
  /// Whose order this is.
  /// @stratum.subject
  customer  String
  @@unique([tenantId, id], map: "orders_tenant_id_key")
  @@map("orders")
}
`),
    );
    expect(result.errors).toEqual([]);
    const order = result.models.models["Order"];
    expect(order).toMatchObject({
      table: "orders",
      tenantField: "tenantId",
      tenantColumn: "tenant_id",
      audited: true,
      encryptedFields: ["cardToken"],
      subjectField: "customer",
    });
    expect(order?.uniques).toEqual([{ fields: ["tenantId", "id"] }]);
    expect(order?.fields.find((f) => f.name === "cardToken")).toMatchObject({ column: "card_token", encrypted: true });
    expect(order?.fields.find((f) => f.name === "customer")).toMatchObject({ subject: true });
    expect(result.securitySql).toContain(
      `CREATE POLICY stratum_tenant_isolation ON "public"."orders" AS PERMISSIVE FOR ALL TO PUBLIC\n  USING ("tenant_id" = (SELECT`,
    );
  });

  it("refuses @stratum.encrypted on a non-String field or an indexed one", () => {
    const { errors } = generateStratum(
      dmmfWith(`
model Secret {
  id        String @id @db.Uuid
  tenant_id String @db.Uuid
  /// @stratum.encrypted
  pin       Int
  /// @stratum.encrypted
  token     String
  @@unique([tenant_id, token])
}
`),
    );
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain("pin");
    expect(errors[1]).toContain("token");
  });

  it("refuses @stratum.encrypted on a global model, whose values no tenant binds", () => {
    const { errors } = generateStratum(
      dmmfWith(`
/// @stratum.global
model Setting {
  id    String @id @db.Uuid
  /// @stratum.encrypted
  value String
}
`),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Setting, field value: @stratum.encrypted is supported on tenant-scoped models only/);
  });
});

describe("the security migration on disk", () => {
  it("writes once, and nothing when regenerated without a schema change", () => {
    const dir = temp();
    const sql = generateStratum(repoDmmf()).securitySql;
    const first = writeSecurityMigration(dir, sql, new Date(Date.UTC(2026, 10, 23, 12, 0, 0)));
    expect(first.written).toBe(join(dir, "20261123120000_stratum_security"));
    expect(writeSecurityMigration(dir, sql, new Date(Date.UTC(2026, 10, 23, 13, 0, 0))).written).toBeNull();
    expect(readdirSync(dir)).toEqual(["20261123120000_stratum_security"]);
    const changed = writeSecurityMigration(dir, sql + "-- changed\n", new Date(Date.UTC(2026, 10, 23, 13, 0, 0)));
    expect(changed.written).toBe(join(dir, "20261123130000_stratum_security"));
  });

  it("sorts after every existing migration even when the clock is behind them", () => {
    const dir = temp();
    mkdirSync(join(dir, "20261231235959_add_things"));
    const { written } = writeSecurityMigration(dir, "SELECT 1;\n", new Date(Date.UTC(2026, 0, 1)));
    expect(written).toBe(join(dir, "20270101000000_stratum_security"));
  });

  it("runGenerator writes index.ts and the migration from Prisma's generator options, then nothing new", () => {
    const dir = temp();
    mkdirSync(join(dir, "prisma", "schema"), { recursive: true });
    const options = generatorOptions(dir, repoDmmf(), { appRole: "app_rw" });
    const first = runGenerator(options);
    expect(existsSync(join(dir, "generated", "stratum", "index.ts"))).toBe(true);
    expect(first.migration).toMatch(/prisma\/migrations\/\d{14}_stratum_security$/);
    expect(readFileSync(join(first.migration as string, "migration.sql"), "utf8")).toContain(`TO "app_rw"`);
    expect(runGenerator(options).migration).toBeNull();
    expect(readdirSync(join(dir, "prisma", "migrations"))).toHaveLength(1);
    expect(() => runGenerator({ ...options, generator: { ...options.generator, config: { appRol: "x" } } })).toThrow(/unknown option appRol/);
    // An explicit option is relative to the schema file holding the generator block.
    const custom = runGenerator({ ...options, generator: { ...options.generator, config: { migrations: "../../db/migrations" } } });
    expect(custom.migration).toMatch(/\/db\/migrations\/\d{14}_stratum_security$/);
  });

  it("defaults the migrations folder to Prisma's: next to a schema file or folder", () => {
    expect(defaultMigrationsDir("/p/prisma/schema")).toBe("/p/prisma/migrations");
    expect(defaultMigrationsDir("/p/prisma/schema.prisma")).toBe("/p/prisma/migrations");
  });
});

describe("the emitted SQL on a scratch database", () => {
  const adminUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
  const initDir = join(root, "prisma", "migrations");
  const tableMigrations = readdirSync(initDir)
    .filter((n) => /^\d+_/.test(n) && !n.endsWith("_stratum_security"))
    .sort();

  it("applies after the table migrations, twice, with a forced policy on every tenant table", async () => {
    const name = `gen_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const db = new pg.Client({ connectionString: url.toString() });
    try {
      await db.connect();
      // Every table migration in order (init, then the ones that add tables), as a user's runner would.
      for (const dir of tableMigrations) await db.query(readFileSync(join(initDir, dir, "migration.sql"), "utf8"));
      const { securitySql, models } = generateStratum(repoDmmf());
      await db.query(securitySql);
      await db.query(securitySql); // idempotent
      const tables = models.tenantModels.map((n) => models.models[n]?.table as string);
      const { rows } = await db.query<{ relname: string; forced: boolean; policies: string[] }>(
        `SELECT c.relname, c.relforcerowsecurity AS forced,
                array(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1) AS policies
           FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1) ORDER BY 1`,
        [tables],
      );
      expect(rows).toEqual(
        tables.sort().map((t) => ({ relname: t, forced: true, policies: ["stratum_shared_home", "stratum_subtree", "stratum_tenant_isolation"] })),
      );
    } finally {
      await db.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
