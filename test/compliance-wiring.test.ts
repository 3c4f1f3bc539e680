/**
 * The compliance services as a user gets them: through `prisma.$stratum` and scoped clients, on
 * real PostgreSQL, with tenants in all three strategies (DATABASE ones on a second server).
 *
 *  - export then purge of one tenant per strategy leaves every other tenant's counts unchanged and
 *    the purged tenant's at zero (its schema / database gone);
 *  - audit rows commit and roll back with their change (setConfig, setConfigBatch);
 *  - key rotation leaves every value (config and encrypted fields, in every strategy) readable
 *    under the new key alone;
 *  - consent, subject export / erasure and retention through $stratum;
 *  - spans from scoped queries and $stratum calls reach a registered tracer.
 */
import { randomBytes } from "node:crypto";
import { context, trace } from "@opentelemetry/api";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/prisma/client.js";
import { stratumModels } from "../generated/stratum/index.js";
import type { ChangeBus, ChangeEvent } from "../src/core/ports.js";
import { stratum, stratumAdapter, type Tenant } from "../src/index.js";
import { codeOf as code } from "./support/errors.js";
import { createTestDatabase, type TestDatabase } from "./harness/database.js";
import { appUrlOf } from "./harness/roles.js";
import { startSecondPostgres } from "./harness/second-postgres.js";
import { AlsContextManager, InMemoryTracerProvider } from "./support/compliance-tracer.js";

const K1 = randomBytes(32).toString("base64");
const K2 = randomBytes(32).toString("base64");

let db: TestDatabase;
let second: string;
let admin: pg.Pool;
const closers: Array<() => Promise<void>> = [];

/** A bus that can be told to fail the next publish: a forced error inside a service transaction. */
class FailingBus implements ChangeBus {
  failNext = false;
  private listeners = new Set<(e: ChangeEvent) => void>();
  async publish(): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("bus down (forced)");
    }
  }
  subscribe(listener: (e: ChangeEvent) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async close() {}
}

function client(keys: Record<string, string> | null, bus?: ChangeBus) {
  const servers = { main: { appUrl: db.appUrl, adminUrl: db.adminUrl }, second: { appUrl: appUrlOf(second), adminUrl: second } };
  const adapter = stratumAdapter({
    connectionString: db.appUrl,
    pool: { max: 3 },
    servers: Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.appUrl])),
    maxPools: 6,
  });
  // A loaded 2-core CI machine can take more than Prisma's default 2 s to hand a pooled connection to a transaction.
  const base = new PrismaClient({ adapter, transactionOptions: { maxWait: 20_000, timeout: 20_000 } });
  const prisma = base.$extends(
    stratum({
      models: stratumModels,
      scopeKey: db.scopeKey,
      admin: { connectionString: db.ownerUrl, servers: Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.adminUrl])) },
      ...(keys ? { encryptionKeys: keys } : {}),
      ...(bus ? { bus } : {}),
    }),
  );
  closers.push(() => base.$disconnect());
  return prisma;
}
type Client = ReturnType<typeof client>;

let prisma: Client;
const bus = new FailingBus();
const tenants: Record<string, Tenant> = {};
const rand = () => randomBytes(3).toString("hex");

async function seed(t: Tenant, users: number) {
  const scoped = prisma.$tenant(t.id);
  for (let i = 0; i < users; i++) {
    const user = await scoped.user.create({ data: { tenant_id: t.id, email: `u${i}@${t.slug}.test`, ssn: `ssn-${t.slug}-${i}` } });
    await scoped.ticket.create({ data: { tenant_id: t.id, title: `T${i} of ${t.slug}`, author_id: user.id } });
  }
  await prisma.$stratum.setConfig(t.id, "plan", { value: `plan-${t.slug}` });
  await prisma.$stratum.setConfig(t.id, "api_secret", { value: { token: `secret-${t.slug}` }, sensitive: true });
  await prisma.$stratum.grantConsent(t.id, "subject-1", "marketing_email", "signup_form");
}

/** What each tenant owns, counted the way a user sees it plus stratum's own rows (superuser). */
async function snapshot(ids: string[]) {
  const out: Record<string, Record<string, number>> = {};
  for (const id of ids) {
    const scoped = prisma.$tenant(id);
    const [stratumRows] = (
      await admin.query<{ config: number; consents: number }>(
        `SELECT (SELECT count(*)::int FROM stratum_config WHERE tenant_id = $1) AS config,
                (SELECT count(*)::int FROM stratum_consents WHERE tenant_id = $1) AS consents`,
        [id],
      )
    ).rows;
    out[id] = { users: await scoped.user.count(), tickets: await scoped.ticket.count(), ...stratumRows! };
  }
  return out;
}

beforeAll(async () => {
  db = await createTestDatabase({ label: "cwiring" });
  second = (await startSecondPostgres()).adminUrl;
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  prisma = client({ v1: K1 }, bus);
  const root = await prisma.$stratum.createTenant({ name: "Cw Root", slug: `cw_root_${rand()}` });
  const make = async (key: string, isolation_strategy: "SHARED_RLS" | "SCHEMA" | "DATABASE") => {
    tenants[key] = await prisma.$stratum.createTenant({
      name: `Cw ${key}`,
      slug: `cw_${key}_${rand()}`,
      parent_id: root.id,
      isolation_strategy,
      ...(isolation_strategy === "DATABASE" ? { server: "second" } : {}),
    });
  };
  await make("r1", "SHARED_RLS");
  await make("r2", "SHARED_RLS");
  await make("s1", "SCHEMA");
  await make("s2", "SCHEMA");
  await make("d1", "DATABASE");
  await make("d2", "DATABASE");
  for (const t of Object.values(tenants)) await seed(t, 2);
}, 180_000);

afterAll(async () => {
  trace.disable();
  context.disable();
  for (const close of closers) await close().catch(() => undefined);
  await admin?.end();
  await db?.drop();
});

describe("encrypted fields through scoped clients", () => {
  it("stores ciphertext, reads plaintext, nested includes too, in every strategy", async () => {
    for (const key of ["r1", "s1", "d1"]) {
      const t = tenants[key]!;
      const users = await prisma.$tenant(t.id).user.findMany({ orderBy: { email: "asc" } });
      expect(users.map((u) => u.ssn)).toEqual([`ssn-${t.slug}-0`, `ssn-${t.slug}-1`]);
      const tickets = await prisma.$tenant(t.id).ticket.findMany({ include: { author: true }, orderBy: { title: "asc" } });
      expect(tickets[0]!.author.ssn).toBe(`ssn-${t.slug}-0`);
      const picked = await prisma.$tenant(t.id).user.findFirst({ where: { email: `u1@${t.slug}.test` }, select: { ssn: true } });
      expect(picked?.ssn).toBe(`ssn-${t.slug}-1`);
    }
    const stored = await admin.query<{ ssn: string }>(`SELECT ssn FROM users WHERE tenant_id = $1`, [tenants["r1"]!.id]);
    expect(stored.rows.every((r) => r.ssn.startsWith("stratum:v1:"))).toBe(true);
    const inSchema = await admin.query<{ ssn: string }>(`SELECT ssn FROM "${tenants["s1"]!.placement}".users`);
    expect(inSchema.rows.every((r) => r.ssn.startsWith("stratum:v1:"))).toBe(true);
  });

  it("seals updates by id, upserts and nested creates; refuses what cannot be bound to a row", async () => {
    const t = tenants["r2"]!;
    const scoped = prisma.$tenant(t.id);
    const user = (await scoped.user.findFirst({ where: { email: `u0@${t.slug}.test` } }))!;
    expect((await scoped.user.update({ where: { id: user.id }, data: { ssn: "new-ssn" } })).ssn).toBe("new-ssn");
    const up = await scoped.user.upsert({
      where: { tenant_id_email: { tenant_id: t.id, email: `nested@${t.slug}.test` } },
      create: { tenant_id: t.id, email: `nested@${t.slug}.test`, ssn: "upserted" },
      update: {},
    });
    expect(up.ssn).toBe("upserted");
    const ticket = await scoped.ticket.create({
      data: { title: "nested", author: { create: { tenant_id: t.id, email: `n2@${t.slug}.test`, ssn: "nested-ssn" } } },
      include: { author: true },
    });
    expect(ticket.author.ssn).toBe("nested-ssn");
    const raw = await admin.query<{ ssn: string }>(`SELECT ssn FROM users WHERE id = $1`, [ticket.author_id]);
    expect(raw.rows[0]!.ssn.startsWith("stratum:v1:")).toBe(true);
    expect(await code(scoped.user.updateMany({ where: { email: { contains: "@" } }, data: { ssn: "bulk" } }))).toBe("ENCRYPTION_FAILED");
    expect(await code(scoped.user.update({ where: { tenant_id_email: { tenant_id: t.id, email: user.email } }, data: { ssn: "x" } }))).toBe(
      "ENCRYPTION_FAILED",
    );
    expect(await code(scoped.user.findMany({ where: { ssn: "new-ssn" } }))).toBe("VALIDATION_FAILED");
    expect((await scoped.user.updateMany({ where: { id: user.id }, data: { name: "renamed" } })).count).toBe(1);
    // clean up what this test added, so the purge counts below stay simple
    await scoped.ticket.delete({ where: { id: ticket.id } });
    await scoped.user.deleteMany({ where: { email: { in: [`nested@${t.slug}.test`, `n2@${t.slug}.test`] } } });
    await scoped.user.update({ where: { id: user.id }, data: { ssn: `ssn-${t.slug}-0`, name: null } });
  });

  it("a ciphertext copied to another row or tenant fails to decrypt (DECRYPTION_FAILED)", async () => {
    const [a, b] = [tenants["r1"]!, tenants["r2"]!];
    const ua = (await prisma.$tenant(a.id).user.findMany({ orderBy: { email: "asc" } }))!;
    const ub = (await prisma.$tenant(b.id).user.findFirst({ where: { email: `u1@${b.slug}.test` } }))!;
    const original = (await admin.query<{ ssn: string }>(`SELECT ssn FROM users WHERE id = $1`, [ub.id])).rows[0]!.ssn;
    try {
      // another tenant's value
      await admin.query(`UPDATE users SET ssn = (SELECT ssn FROM users WHERE id = $1) WHERE id = $2`, [ua[0]!.id, ub.id]);
      expect(await code(prisma.$tenant(b.id).user.findUnique({ where: { id: ub.id } }))).toBe("DECRYPTION_FAILED");
      expect(await code(prisma.$tenant(b.id).ticket.findMany({ include: { author: true } }))).toBe("DECRYPTION_FAILED");
      // another row's value, same tenant
      await admin.query(`UPDATE users SET ssn = (SELECT ssn FROM users WHERE id = $1) WHERE id = $2`, [ua[0]!.id, ua[1]!.id]);
      expect(await code(prisma.$tenant(a.id).user.findMany())).toBe("DECRYPTION_FAILED");
    } finally {
      await admin.query(`UPDATE users SET ssn = $1 WHERE id = $2`, [original, ub.id]);
      await prisma.$tenant(a.id).user.update({ where: { id: ua[1]!.id }, data: { ssn: `ssn-${a.slug}-1` } });
    }
    expect((await prisma.$tenant(b.id).user.findUnique({ where: { id: ub.id } }))?.ssn).toBe(`ssn-${b.slug}-1`);
  });
});

describe("audit rows commit and roll back with their change", () => {
  const auditCount = async (tenantId: string, action: string) =>
    (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM stratum_audit WHERE tenant_id = $1 AND action = $2`, [tenantId, action])).rows[0]!.n;

  it("setConfig: committed change, committed audit row; forced error, neither", async () => {
    const t = tenants["r1"]!;
    const before = await auditCount(t.id, "config.set");
    await prisma.$stratum.setConfig(t.id, "audited_key", { value: 1 });
    expect(await auditCount(t.id, "config.set")).toBe(before + 1);
    bus.failNext = true;
    await expect(prisma.$stratum.setConfig(t.id, "audited_key", { value: 2 })).rejects.toThrow(/bus down/);
    expect(await auditCount(t.id, "config.set")).toBe(before + 1);
    expect((await prisma.$stratum.getConfig(t.id))["audited_key"]?.value).toBe(1);
  });

  it("setConfigBatch: a failing batch leaves no audit row of any key", async () => {
    const t = tenants["s1"]!;
    const before = await auditCount(t.id, "config.set");
    bus.failNext = true;
    await expect(prisma.$stratum.setConfigBatch(t.id, { batch_a: { value: 1 }, batch_b: { value: 2 } })).rejects.toThrow(/bus down/);
    expect(await auditCount(t.id, "config.set")).toBe(before);
    expect(Object.keys(await prisma.$stratum.getConfig(t.id))).not.toContain("batch_a");
    const ok = await prisma.$stratum.setConfigBatch(t.id, { batch_a: { value: 1 }, "bad key!": { value: 2 } });
    expect(ok.applied).toBe(1);
    expect(await auditCount(t.id, "config.set")).toBe(before + 1);
  });
});

describe("consent and subject rights through $stratum", () => {
  it("records, withdraws, lists and keeps history; each change audited", async () => {
    const t = tenants["r2"]!;
    await prisma.$stratum.withdrawConsent(t.id, "subject-1", "marketing_email", "settings_page");
    await prisma.$stratum.recordConsent(t.id, { subject_id: "subject-1", purpose: "analytics", granted: true });
    const current = await prisma.$stratum.listConsents(t.id, "subject-1");
    expect(current.map((c) => [c.purpose, c.granted])).toEqual([
      ["analytics", true],
      ["marketing_email", false],
    ]);
    expect((await prisma.$stratum.consentHistory(t.id, "subject-1", "marketing_email")).map((c) => c.granted)).toEqual([true, false]);
    expect(await prisma.$stratum.hasConsent(t.id, "subject-1", "marketing_email")).toBe(false);
    const audit = await admin.query(`SELECT action FROM stratum_audit WHERE tenant_id = $1 AND action LIKE 'consent.%'`, [t.id]);
    expect(audit.rows.length).toBeGreaterThanOrEqual(3);
  });

  it("exports and erases one subject's rows (children first) in a SCHEMA tenant", async () => {
    const t = tenants["s2"]!;
    const scoped = prisma.$tenant(t.id);
    const user = await scoped.user.create({ data: { tenant_id: t.id, email: `subject@${t.slug}.test`, ssn: "subject-ssn" } });
    await scoped.ticket.create({ data: { tenant_id: t.id, title: "by subject", author_id: user.id } });
    const doc = JSON.parse(await prisma.$stratum.exportSubjectDataJson(t.id, user.id)) as {
      sources: Record<string, Record<string, Array<Record<string, unknown>>>>;
    };
    const home = doc.sources[`schema:${t.placement}`]!;
    expect(home["users"]!.map((u) => u["ssn"])).toEqual(["subject-ssn"]);
    expect(home["tickets"]!.map((x) => x["title"])).toEqual(["by subject"]);
    const erased = await prisma.$stratum.eraseSubject(t.id, user.id);
    expect(erased.counts[`schema:${t.placement}.tickets`]).toBe(1);
    expect(erased.counts[`schema:${t.placement}.users`]).toBe(1);
    expect(await scoped.user.count()).toBe(2);
    expect(await scoped.ticket.count()).toBe(2);
  });
});

describe("retention through $stratum", () => {
  it("expires old tickets of one tenant, in its own place, and audits it", async () => {
    const t = tenants["s2"]!;
    const scoped = prisma.$tenant(t.id);
    const user = (await scoped.user.findFirst())!;
    const old = await scoped.ticket.create({ data: { tenant_id: t.id, title: "old", author_id: user.id } });
    await admin.query(`UPDATE "${t.placement}".tickets SET created_at = now() - interval '40 days' WHERE id = $1`, [old.id]);
    const results = await prisma.$stratum.runRetention([{ table: "tickets", timestampColumn: "created_at", days: 30, tenantId: t.id }]);
    expect(results).toEqual([{ table: "tickets", tenantId: t.id, deleted: 1 }]);
    expect(await scoped.ticket.count()).toBe(2);
    const audit = await admin.query(`SELECT after FROM stratum_audit WHERE tenant_id = $1 AND action = 'gdpr.retention'`, [t.id]);
    expect(audit.rows).toHaveLength(1);
  });

  it("runs on a schedule until stopped", async () => {
    const t = tenants["s2"]!;
    const scoped = prisma.$tenant(t.id);
    const user = (await scoped.user.findFirst())!;
    const old = await scoped.ticket.create({ data: { tenant_id: t.id, title: "old again", author_id: user.id } });
    await admin.query(`UPDATE "${t.placement}".tickets SET created_at = now() - interval '40 days' WHERE id = $1`, [old.id]);
    const seen: number[] = [];
    const scheduler = prisma.$stratum.scheduleRetention([{ table: "tickets", timestampColumn: "created_at", days: 30, tenantId: t.id }], {
      intervalMs: 60_000,
      onResult: (results) => seen.push(results.reduce((n, r) => n + r.deleted, 0)),
    });
    try {
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20)); // runs on start
      expect(seen).toEqual([1]);
      expect(await scoped.ticket.findUnique({ where: { id: old.id } })).toBeNull();
    } finally {
      await scheduler.stop();
    }
  });
});

describe("key rotation through $stratum", () => {
  it("re-encrypts config and every tenant's encrypted fields; the new key alone reads them all", async () => {
    const rotating = client({ v1: K1, v2: K2 });
    const progress: string[] = [];
    const result = await rotating.$stratum.rotateKeys({ batchSize: 1, onProgress: (p) => progress.push(`${p.place}:${p.table}`) });
    expect(result.version).toBe(2);
    expect(result.failed).toEqual([]);
    expect(result.remaining).toBe(0);
    expect(result.rotated).toBeGreaterThanOrEqual(6 + 12); // 6 sensitive config values, 12+ ssn values
    expect(progress).toContain(`database:${tenants["d1"]!.placement}:users`);
    expect(progress).toContain(`schema:${tenants["s1"]!.placement}:users`);
    const again = await rotating.$stratum.rotateKeys();
    expect(again.rotated).toBe(0);
    // the main client holds v1 only: everything is under v2 now, which it cannot read
    const stale = prisma;
    prisma = client({ v1: K1, v2: K2 }, bus);
    expect(await code(stale.$tenant(tenants["r1"]!.id).user.findMany())).toBe("KEY_NOT_FOUND");

    const config = await admin.query<{ encrypted_value: string }>(`SELECT encrypted_value FROM stratum_config WHERE sensitive`);
    expect(config.rows.every((r) => r.encrypted_value.startsWith("stratum:v2:"))).toBe(true);

    const onlyV2 = client({ v2: K2 });
    for (const key of Object.keys(tenants)) {
      const t = tenants[key]!;
      const users = await onlyV2.$tenant(t.id).user.findMany({ where: { email: { startsWith: "u" } }, orderBy: { email: "asc" } });
      expect(users.map((u) => u.ssn)).toEqual([`ssn-${t.slug}-0`, `ssn-${t.slug}-1`]);
      const resolved = await onlyV2.$stratum.resolveConfig(t.id, { includeSensitive: true });
      expect(resolved["api_secret"]?.value).toEqual({ token: `secret-${t.slug}` });
    }
    const audit = await admin.query(`SELECT target_id FROM stratum_audit WHERE action = 'crypto.rotate'`);
    expect(audit.rows.length).toBe(2);
  });
});

describe("export then purge, one tenant per strategy", () => {
  it.each([
    ["SHARED_RLS", "r1"],
    ["SCHEMA", "s1"],
    ["DATABASE", "d1"],
  ] as const)("%s: the export holds the tenant's rows; the purge zeroes it and touches nobody else", async (strategy, key) => {
    const victim = tenants[key]!;
    const others = Object.values(tenants).filter((t) => t.id !== victim.id && !("purged" in t));
    const before = await snapshot(others.map((t) => t.id));
    const mine = (await snapshot([victim.id]))[victim.id]!;

    const doc = JSON.parse(await prisma.$stratum.exportTenantDataJson(victim.id)) as {
      tenant: { isolation_strategy: string };
      stratum: { config: Array<{ key: string; value: unknown }> };
      sources: Record<string, Record<string, Array<Record<string, unknown>>>>;
      counts: Record<string, number>;
    };
    expect(doc.tenant.isolation_strategy).toBe(strategy);
    const home = strategy === "SHARED_RLS" ? "shared" : strategy === "SCHEMA" ? `schema:${victim.placement}` : `database:${victim.placement}`;
    expect(doc.sources[home]!["users"]!.length).toBe(mine["users"]);
    expect(doc.sources[home]!["tickets"]!.length).toBe(mine["tickets"]);
    expect(doc.sources[home]!["users"]!.every((u) => u["tenant_id"] === victim.id && String(u["ssn"]).startsWith(`ssn-${victim.slug}`))).toBe(true);
    expect(doc.stratum.config.find((c) => c.key === "api_secret")?.value).toEqual({ token: `secret-${victim.slug}` });
    expect(doc.counts[`${home}.users`]).toBe(mine["users"]);

    const purged = await prisma.$stratum.purgeTenant(victim.id);
    (victim as Tenant & { purged?: boolean }).purged = true;
    expect(purged.counts[`${home}.users`]).toBe(mine["users"]);
    expect(purged.counts["stratum.tenants"]).toBe(1);
    expect(purged.home_error).toBeUndefined();

    expect(await snapshot(others.map((t) => t.id))).toEqual(before);
    const left = await admin.query<{ n: number }>(
      `SELECT (SELECT count(*)::int FROM users WHERE tenant_id = $1) + (SELECT count(*)::int FROM tickets WHERE tenant_id = $1)
            + (SELECT count(*)::int FROM stratum_config WHERE tenant_id = $1) + (SELECT count(*)::int FROM stratum_consents WHERE tenant_id = $1)
            + (SELECT count(*)::int FROM stratum_permissions WHERE tenant_id = $1) + (SELECT count(*)::int FROM stratum_tenants WHERE id = $1) AS n`,
      [victim.id],
    );
    expect(left.rows[0]!.n).toBe(0);
    if (strategy === "SCHEMA") {
      expect(purged.home_removed).toBe(victim.placement);
      expect((await admin.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [victim.placement])).rows).toHaveLength(0);
    }
    if (strategy === "DATABASE") {
      expect(purged.home_removed).toBe(victim.placement);
      const server = new pg.Client({ connectionString: second });
      await server.connect();
      const dbs = await server.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [victim.placement!.split("/")[1]]);
      await server.end();
      expect(dbs.rows).toHaveLength(0);
    }
    const tomb = await admin.query<{ tenant_id: string; after: { purged_tenant_id: string } }>(
      `SELECT tenant_id, after FROM stratum_audit WHERE action = 'gdpr.purge' AND target_id = $1`,
      [victim.id],
    );
    expect(tomb.rows).toHaveLength(1);
    expect(tomb.rows[0]!.tenant_id).toBe(victim.parent_id);
    expect(await code(prisma.$stratum.exportTenantDataJson(victim.id))).toBe("TENANT_NOT_FOUND");
    expect(await code(prisma.$tenant(victim.id).user.count())).toBe("TENANT_NOT_FOUND");
  });
});

describe("telemetry", () => {
  it("a registered tracer receives spans from scoped queries and $stratum calls", async () => {
    const provider = new InMemoryTracerProvider();
    context.setGlobalContextManager(new AlsContextManager());
    trace.setGlobalTracerProvider(provider);
    try {
      const t = tenants["s2"]!;
      await prisma.$tenant(t.id).user.findMany();
      await prisma.$stratum.listConsents(t.id, "subject-1");
      const query = provider.spans.find((s) => s.name === "stratum.User.findMany");
      expect(query?.attributes).toMatchObject({ "stratum.tenant_id": t.id, "stratum.isolation_strategy": "SCHEMA" });
      const call = provider.spans.find((s) => s.name === "stratum.listConsents");
      expect(call?.attributes).toMatchObject({ "stratum.tenant_id": t.id });
    } finally {
      trace.disable();
      context.disable();
    }
  });
});
