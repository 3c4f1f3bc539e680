/**
 * `stratum scaffold`: models are checked by the real generator core, integrations are run against
 * a real test database (express and fastify over HTTP, Next's server actions called directly).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { getDMMF } from "@prisma/get-dmmf";
import type { DMMF } from "@prisma/generator-helper";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateStratum } from "../generators/core.js";
import { findBlocks, initProject } from "../src/cli/init.js";
import { buildProgram } from "../src/cli/main.js";
import { scaffoldIntegration, scaffoldModel, type ReferencedModelEdit } from "../src/cli/scaffold.js";
import { runWithTenant } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { stratumTestClient } from "./support/stratum-client.js";
import { throwsWithCode } from "./support/errors.js";
import { SCHEMA, tempDirs } from "./support/temp-project.js";

const root = join(import.meta.dirname, "..");
const tempDir = tempDirs("stratum-scaffold-");

/** A tenant model without the composite unique a composite foreign key needs, and a global one. */
const APP = `model User {
  id        String @id @default(uuid()) @db.Uuid
  tenant_id String @db.Uuid
  email     String

  @@unique([tenant_id, email])
  @@map("users")
}

/// @stratum.global
model Plan {
  id   String @id @default(uuid()) @db.Uuid
  name String @unique

  @@map("plans")
}
`;

/** A schema folder as `stratum init` leaves it: datasource, client generator, stratum's models and generator. */
function project(app = APP): string {
  const dir = tempDir();
  mkdirSync(join(dir, "prisma", "schema"), { recursive: true });
  writeFileSync(join(dir, "prisma", "schema", "schema.prisma"), SCHEMA);
  writeFileSync(join(dir, "prisma", "schema", "app.prisma"), app);
  initProject({ cwd: dir });
  return dir;
}

function schemaFiles(dir: string): Array<[string, string]> {
  const folder = join(dir, "prisma", "schema");
  return readdirSync(folder)
    .filter((f) => f.endsWith(".prisma"))
    .sort()
    .map((f) => [f, readFileSync(join(folder, f), "utf8")]);
}

function dmmfOf(dir: string): DMMF.Document {
  const result = getDMMF({ datamodel: schemaFiles(dir) });
  if (!("datamodel" in result)) throw new Error(`schema did not parse: ${result.error.message}`);
  return result as DMMF.Document;
}

/** What the user does with the printed instructions: each line goes into the named model. */
function applyEdits(dir: string, edits: readonly ReferencedModelEdit[]): void {
  for (const edit of edits) {
    const file = join(dir, edit.file);
    const text = readFileSync(file, "utf8");
    const block = findBlocks(text).find((b) => b.kind === "model" && b.name === edit.model);
    if (!block) throw new Error(`no model ${edit.model} in ${edit.file}`);
    writeFileSync(file, `${text.slice(0, block.close)}  ${edit.line}\n${text.slice(block.close)}`);
  }
}

/** The message of the VALIDATION_FAILED that `fn` throws. */
const refusal = (fn: () => unknown): string => throwsWithCode(fn, "VALIDATION_FAILED").message;

describe("stratum scaffold model", () => {
  it("writes a tenant model the generator accepts: tenant-scoped, encrypted, audited, composite relation", () => {
    const dir = project();
    const before = schemaFiles(dir);
    const result = scaffoldModel({
      cwd: dir,
      name: "Invoice",
      fields: "title:String, amount:Decimal?, ssn:String?@encrypted, number:String@unique, tags:String[], due_at:DateTime?",
      audit: true,
      relations: ["User"],
    });
    expect(result.written).toBe(true);
    expect(relative(dir, result.file)).toBe(join("prisma", "schema", "invoice.prisma"));
    expect(readFileSync(result.file, "utf8")).toBe(result.content);
    // The user's files are untouched: what User needs comes back as instructions.
    expect(schemaFiles(dir).filter(([f]) => f !== "invoice.prisma")).toEqual(before);
    expect(result.edits).toEqual([
      { model: "User", file: "prisma/schema/app.prisma", line: "invoices Invoice[]", why: expect.stringContaining("opposite side") },
      { model: "User", file: "prisma/schema/app.prisma", line: "@@unique([tenant_id, id])", why: expect.stringContaining("rule 5") },
    ]);
    // Without them Prisma itself refuses the relation.
    expect("datamodel" in getDMMF({ datamodel: schemaFiles(dir) })).toBe(false);

    applyEdits(dir, result.edits);
    const generated = generateStratum(dmmfOf(dir));
    expect(generated.errors).toEqual([]);
    expect(generated.models.tenantModels).toEqual(["Invoice", "User"]);
    const invoice = generated.models.models["Invoice"];
    expect(invoice).toMatchObject({
      table: "invoices",
      scope: "tenant",
      tenantField: "tenant_id",
      tenantColumn: "tenant_id",
      primaryKey: ["id"],
      audited: true,
      encryptedFields: ["ssn"],
    });
    expect(invoice?.uniques).toEqual([{ fields: ["tenant_id", "id"] }, { fields: ["tenant_id", "number"] }]);
    expect(invoice?.fields.find((f) => f.name === "user")?.relation).toEqual({
      name: "InvoiceToUser",
      model: "User",
      fields: ["tenant_id", "user_id"],
      references: ["tenant_id", "id"],
    });
    expect(invoice?.fields.find((f) => f.name === "tags")).toMatchObject({ type: "String", isList: true });
    expect(invoice?.fields.find((f) => f.name === "amount")).toMatchObject({ type: "Decimal", isRequired: false });
    expect(invoice?.fields.find((f) => f.name === "due_at")).toMatchObject({ nativeType: "Timestamptz(6)" });
    expect(generated.securitySql).toContain('"invoices"');
    expect(result.content).toContain("@@index([tenant_id, created_at])");
    expect(result.content).toContain("@@index([tenant_id, user_id])");

    // Once User has what it needs, a second model referencing it asks for nothing more than its back-relation.
    const second = scaffoldModel({ cwd: dir, name: "Payment", fields: "payer:String@subject", relations: ["User"] });
    expect(second.edits.map((e) => e.line)).toEqual(["payments Payment[]"]);
    applyEdits(dir, second.edits);
    const again = generateStratum(dmmfOf(dir));
    expect(again.errors).toEqual([]);
    expect(again.models.models["Payment"]).toMatchObject({ scope: "tenant", subjectField: "payer", audited: false });
  });

  it("writes global models, and tenant models that point at a global one with a plain key", () => {
    const dir = project();
    const feature = scaffoldModel({ cwd: dir, name: "FeatureFlag", fields: "key:String@unique,enabled:Boolean", global: true });
    expect(feature.edits).toEqual([]);
    expect(relative(dir, feature.file)).toBe(join("prisma", "schema", "feature_flag.prisma"));
    const sub = scaffoldModel({ cwd: dir, name: "Subscription", relations: ["Plan"] });
    expect(sub.edits.map((e) => e.line)).toEqual(["subscriptions Subscription[]"]);
    applyEdits(dir, sub.edits);
    const generated = generateStratum(dmmfOf(dir));
    expect(generated.errors).toEqual([]);
    expect(generated.models.models["FeatureFlag"]).toMatchObject({ scope: "global", table: "feature_flags", uniques: [{ fields: ["key"] }] });
    expect(generated.models.models["FeatureFlag"]?.fields.some((f) => f.name === "tenant_id")).toBe(false);
    expect(generated.models.models["Subscription"]).toMatchObject({ scope: "tenant" });
    expect(generated.models.models["Subscription"]?.fields.find((f) => f.name === "plan")?.relation).toMatchObject({ fields: ["plan_id"], references: ["id"] });
  });

  it("refuses bad names, existing files and models, bad fields and relations, with what to do, writing nothing", () => {
    const dir = project();
    const before = schemaFiles(dir);
    const cases: Array<[Parameters<typeof scaffoldModel>[0], string]> = [
      [{ name: "invoice" }, "PascalCase"],
      [{ name: "line_item" }, "e.g. LineItem"],
      [{ name: "Invoice-2" }, "PascalCase"],
      [{ name: "StratumThing" }, "reserved for stratum"],
      [{ name: "PrismaClient" }, "reserved by Prisma"],
      [{ name: "String" }, "reserved by Prisma"],
      [{ name: "Invoice", fields: "amount:Money" }, "not a Prisma scalar type"],
      [{ name: "Invoice", fields: "amount:decimal" }, "did you mean Decimal?"],
      [{ name: "Invoice", fields: "Amount:Decimal" }, "start with a lowercase letter"],
      [{ name: "Invoice", fields: "amount" }, "has no type"],
      [{ name: "Invoice", fields: "amount:Decimal[]?" }, "cannot read type"],
      [{ name: "Invoice", fields: "tenant_id:String" }, "part of every scaffolded model"],
      [{ name: "Invoice", fields: "a:Int,a:String" }, "given twice"],
      [{ name: "Invoice", fields: "n:Int@encrypted" }, "@encrypted needs a String"],
      [{ name: "Invoice", fields: "n:String@secret" }, "unknown modifier @secret"],
      [{ name: "Invoice", fields: "user_id:String", relations: ["User"] }, "foreign key of --relation User"],
      [{ name: "Invoice", relations: ["Customer"] }, "no model Customer"],
      [{ name: "Invoice", global: true, fields: "s:String@encrypted" }, "tenant-scoped"],
      [{ name: "Invoice", global: true, relations: ["User"] }, "cannot point at tenant-scoped"],
      [{ name: "User" }, "model User in prisma/schema/app.prisma already uses the name User"],
      [{ name: "Plan" }, "already uses the name Plan"],
    ];
    for (const [options, hint] of cases) {
      expect(
        refusal(() => scaffoldModel({ cwd: dir, ...options })),
        JSON.stringify(options),
      ).toContain(hint);
    }
    expect(schemaFiles(dir)).toEqual(before);

    // A scaffolded file is not overwritten by accident.
    scaffoldModel({ cwd: dir, name: "Invoice" });
    const existing = refusal(() => scaffoldModel({ cwd: dir, name: "Invoice", fields: "title:String" }));
    expect(existing).toContain("prisma/schema/invoice.prisma already exists");
    expect(existing).toContain("--force");
    expect(readFileSync(join(dir, "prisma/schema/invoice.prisma"), "utf8")).not.toContain("title");
    scaffoldModel({ cwd: dir, name: "Invoice", fields: "title:String", force: true });
    expect(readFileSync(join(dir, "prisma/schema/invoice.prisma"), "utf8")).toContain("title");

    const dry = scaffoldModel({ cwd: dir, name: "Draft", fields: "body:String", dryRun: true });
    expect(dry.written).toBe(false);
    expect(dry.content).toContain("model Draft {");
    expect(existsSync(join(dir, "prisma/schema/draft.prisma"))).toBe(false);

    expect(refusal(() => scaffoldModel({ cwd: dir, name: "Invoice", schema: "nowhere" }))).toContain("No Prisma schema folder at nowhere");
  });

  it("runs through the commander program and prints the next steps", async () => {
    const dir = project();
    const logs: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void logs.push(args.join(" "));
    try {
      await buildProgram().parseAsync([
        "node",
        "stratum",
        "scaffold",
        "model",
        "Ticket",
        "--cwd",
        dir,
        "--fields",
        "title:String",
        "--relation",
        "User",
        "--audit",
      ]);
    } finally {
      console.log = original;
    }
    const text = logs.join("\n");
    expect(text).toContain("stratum: wrote prisma/schema/ticket.prisma");
    expect(text).toContain("add `tickets Ticket[]`");
    expect(text).toContain("add `@@unique([tenant_id, id])`");
    expect(text).toContain("npx stratum-prisma generate");
    expect(text).toContain("npx stratum-prisma migrate new add_tickets");
    expect(text).toContain("npm run migrations:new add_tickets");
    expect(readFileSync(join(dir, "prisma/schema/ticket.prisma"), "utf8")).toContain("/// @stratum.audit");

    logs.length = 0;
    console.log = (...args: unknown[]) => void logs.push(args.join(" "));
    try {
      await buildProgram().parseAsync(["node", "stratum", "scaffold", "integration", "fastify", "--cwd", dir, "--dry-run"]);
    } finally {
      console.log = original;
    }
    expect(logs.join("\n")).toContain("would write src/stratum-fastify.ts");
    expect(logs.join("\n")).toContain('from "../generated/prisma/client.js"');
    expect(existsSync(join(dir, "src"))).toBe(false);
  });

  it("says to run stratum init first when the schema folder has no stratum generator", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "prisma", "schema"), { recursive: true });
    writeFileSync(join(dir, "prisma", "schema", "schema.prisma"), SCHEMA);
    const result = scaffoldModel({ cwd: dir, name: "Note", fields: "body:String" });
    expect(result.nextSteps[0]).toContain("npx stratum-prisma init");
  });
});

// ---------------------------------------------------------------------------------------------
// Integrations: written inside the repo (so they resolve its node_modules and generated client),
// importing stratum from the source so they share the test client's tenant context.

type TestPrisma = ReturnType<typeof stratumTestClient>["prisma"];
interface Row {
  email: string;
  tenant_id: string;
}

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let prisma: TestPrisma;
let tenantA: string;
let tenantB: string;
const outDirs: string[] = [];

function repoOut(): string {
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(root, ".tmp", "scaffold-"));
  outDirs.push(dir);
  return relative(root, dir);
}

async function importModule<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(path).href)) as T;
}

describe("stratum scaffold integration", () => {
  beforeAll(async () => {
    db = await createTestDatabase({ label: "scaffold" });
    client = stratumTestClient(db);
    prisma = client.prisma;
    tenantA = (await prisma.$stratum.createTenant({ name: "Scaffold A" })).id;
    tenantB = (await prisma.$stratum.createTenant({ name: "Scaffold B" })).id;
    for (const [tenant, emails] of [
      [tenantA, ["a1@a.test", "a2@a.test"]],
      [tenantB, ["b1@b.test"]],
    ] as const) {
      for (const email of emails) await prisma.$tenant(tenant).user.create({ data: { tenant_id: tenant, email } });
    }
  });

  afterAll(async () => {
    for (const dir of outDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    await client?.close();
    await db?.drop();
  });

  async function exerciseServer(base: string): Promise<void> {
    const get = (headers: Record<string, string> = {}) => fetch(`${base}/api/users`, { headers });
    const a = await get({ "X-Tenant-ID": tenantA });
    expect(a.status).toBe(200);
    const rowsA = (await a.json()) as Row[];
    expect(rowsA.map((r) => r.email).sort()).toEqual(["a1@a.test", "a2@a.test"]);
    expect(new Set(rowsA.map((r) => r.tenant_id))).toEqual(new Set([tenantA]));
    const rowsB = (await (await get({ "X-Tenant-ID": tenantB })).json()) as Row[];
    expect(rowsB.map((r) => r.email)).toEqual(["b1@b.test"]);

    const none = await get();
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ error: { code: "NO_TENANT_CONTEXT" } });
    for (const bad of ["A", "not-a-uuid", `${tenantA}'--`, `${tenantA}x`]) {
      const res = await get({ "X-Tenant-ID": bad });
      expect(res.status, bad).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "INVALID_TENANT_ID" } });
    }
    const unknown = await get({ "X-Tenant-ID": "00000000-0000-4000-8000-000000000000" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "TENANT_NOT_FOUND" } });
    expect((await fetch(`${base}/health`)).status).toBe(200);
  }

  it("express: each request sees only its X-Tenant-ID's rows; no or malformed header is a 400", async () => {
    const out = repoOut();
    const result = scaffoldIntegration({ framework: "express", cwd: root, out, stratumImport: "./src/index.js" });
    expect(result.files.map((f) => relative(root, f.path))).toEqual([join(out, "stratum-express.ts")]);
    const file = result.files[0]?.path as string;
    const source = readFileSync(file, "utf8");
    expect(source).toContain('from "../../generated/prisma/client.js"');
    expect(source).toContain('from "../../generated/stratum/index.js"');
    expect(source).toContain("runWithTenant(tenantId, () => next())");

    const mod = await importModule<{ createApp(p: TestPrisma): { listen(port: number, host: string, cb: () => void): Server } }>(file);
    const server = await new Promise<Server>((resolveServer) => {
      const s = mod.createApp(prisma).listen(0, "127.0.0.1", () => resolveServer(s));
    });
    try {
      await exerciseServer(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it("fastify: each request sees only its X-Tenant-ID's rows; no or malformed header is a 400", async () => {
    const out = repoOut();
    const result = scaffoldIntegration({ framework: "fastify", cwd: root, out, stratumImport: "./src/index.js" });
    const file = result.files[0]?.path as string;
    expect(relative(root, file)).toBe(join(out, "stratum-fastify.ts"));
    const mod = await importModule<{ createApp(p: TestPrisma): { listen(o: { port: number; host: string }): Promise<string>; close(): Promise<void> } }>(file);
    const app = mod.createApp(prisma);
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      await exerciseServer(address);
    } finally {
      await app.close();
    }
  });

  it("next: writes lib/stratum.ts and server actions that run in the caller's tenant without Next loaded", async () => {
    const out = repoOut();
    const result = scaffoldIntegration({ framework: "next", cwd: root, out, stratumImport: "./src/index.js" });
    const [lib, action] = result.files.map((f) => f.path) as [string, string];
    expect(relative(root, lib)).toBe(join(out, "lib", "stratum.ts"));
    expect(relative(root, action)).toBe(join(out, "app", "actions", "users.ts"));
    const actionSource = readFileSync(action, "utf8");
    expect(actionSource.startsWith('"use server";')).toBe(true);
    expect(actionSource).not.toMatch(/from ["']next\//);
    expect(actionSource).toContain('from "../../lib/stratum"');
    const libSource = readFileSync(lib, "utf8");
    expect(libSource).not.toMatch(/^import .* from ["']next\//m);
    expect(libSource).toContain("globalThis");

    const libMod = await importModule<{ setPrisma(p: TestPrisma): void; parseTenantId(v: string | null): string }>(lib);
    libMod.setPrisma(prisma);
    const actions = await importModule<{ listUsers(): Promise<Row[]>; countUsers(): Promise<number> }>(action);
    const rowsA = await runWithTenant(tenantA, () => actions.listUsers());
    expect(rowsA.map((r) => r.email).sort()).toEqual(["a1@a.test", "a2@a.test"]);
    expect(await runWithTenant(tenantB, () => actions.listUsers())).toHaveLength(1);
    expect(await runWithTenant(tenantA, () => actions.countUsers())).toBe(2);
    expect(await runWithTenant(tenantB, () => actions.countUsers())).toBe(1);
    expect(libMod.parseTenantId(tenantA)).toBe(tenantA);
    expect(() => libMod.parseTenantId("A")).toThrow(/uuid/);
    expect(() => libMod.parseTenantId(null)).toThrow(/X-Tenant-ID/);
  });

  it("refuses unknown frameworks and existing files, writing nothing", () => {
    const out = repoOut();
    expect(refusal(() => scaffoldIntegration({ framework: "koa", cwd: root, out }))).toContain("express, fastify, next");
    expect(refusal(() => scaffoldIntegration({ framework: "express", cwd: root, out, model: "Nope" }))).toContain("no such model");
    expect(refusal(() => scaffoldIntegration({ framework: "express", cwd: root, out, model: "StratumTenant" }))).toContain("not tenant-scoped");
    scaffoldIntegration({ framework: "express", cwd: root, out, model: "Ticket" });
    const written = readFileSync(join(root, out, "stratum-express.ts"), "utf8");
    expect(written).toContain("prisma.ticket.findMany");
    expect(refusal(() => scaffoldIntegration({ framework: "express", cwd: root, out }))).toContain("--force");
    expect(readFileSync(join(root, out, "stratum-express.ts"), "utf8")).toBe(written);
    expect(readdirSync(join(root, out))).toEqual(["stratum-express.ts"]);
  });
});
