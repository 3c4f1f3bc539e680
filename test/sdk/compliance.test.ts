/** The SDK's compliance resource end to end: SDK → HTTP → the real control plane → PostgreSQL, and back. */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { isStratumError, stratum as stratumSdk, type StratumSdk, type TenantExport, type TenantRecord } from "../../src/sdk/index.js";
import { BOOTSTRAP, countingFetch, failure, rawServer, sdkFixture, type SdkFixture } from "./support.js";

let f: SdkFixture;
let s: StratumSdk;
let root: TenantRecord;
let a: TenantRecord;
let b: TenantRecord;

/** Users with one ticket each, created through the app's own scoped client; returns their ids. */
async function seed(t: TenantRecord, n = 2): Promise<string[]> {
  const scoped = f.prisma.$tenant(t.id);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const user = await scoped.user.create({ data: { tenant_id: t.id, email: `u${i}@${t.slug}.test` } });
    await scoped.ticket.create({ data: { tenant_id: t.id, title: `T${i} of ${t.slug}`, author_id: user.id } });
    ids.push(user.id);
  }
  return ids;
}

async function text(stream: ReadableStream<Uint8Array>): Promise<{ text: string; chunks: number }> {
  const decoder = new TextDecoder();
  let out = "";
  let chunks = 0;
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    chunks++;
    out += decoder.decode(next.value, { stream: true });
  }
  return { text: out + decoder.decode(), chunks };
}

beforeAll(async () => {
  f = await sdkFixture("sdk_compliance");
  s = f.sdk();
  root = await s.tenants.create({ name: "SDK Comp Root" });
  a = await s.tenants.create({ name: "SDK Comp A", parent_id: root.id });
  b = await s.tenants.create({ name: "SDK Comp B", parent_id: root.id });
  await seed(a);
  await seed(b, 3);
});
afterAll(async () => {
  await f?.close();
});

describe("tenant export", () => {
  it("exportTenant parses the document: the tenant's rows, none of another's", async () => {
    const doc: TenantExport = await s.compliance.exportTenant(a.id);
    expect(doc).toMatchObject({ format: "stratum-prisma/tenant-export@1", tenant_id: a.id });
    expect(doc.sources["shared"]!["users"]!.map((u) => u["email"]).sort()).toEqual([`u0@${a.slug}.test`, `u1@${a.slug}.test`]);
    expect(doc.counts["shared.tickets"]).toBe(2);
    expect(JSON.stringify(doc)).not.toContain(b.slug);
  });

  it("exportTenantStream hands over the body as a ReadableStream of the same JSON", async () => {
    const stream = await s.compliance.exportTenantStream(b.id);
    expect(stream).toBeInstanceOf(ReadableStream);
    const { text: body } = await text(stream);
    const doc = JSON.parse(body) as TenantExport;
    expect(doc.tenant_id).toBe(b.id);
    expect(doc.sources["shared"]!["users"]).toHaveLength(3);
    expect(body).not.toContain(a.slug);
  });

  it("a stream request for a tenant out of reach fails before any body, with the server's code", async () => {
    const limited = await s.apiKeys.create({ name: "a-exporter", scopes: ["gdpr:export"], tenant_id: a.id });
    const sa = f.sdk({ apiKey: limited.key, cache: false });
    const error = await failure(sa.compliance.exportTenantStream(b.id));
    expect(isStratumError(error, "FORBIDDEN")).toBe(true);
    expect((await sa.compliance.exportTenant(a.id)).tenant_id).toBe(a.id);
    const erase = await failure(sa.compliance.purgeTenant(a.id, { confirm: a.slug }));
    expect(isStratumError(erase, "FORBIDDEN")).toBe(true);
    expect(erase.details).toMatchObject({ required_scope: "gdpr:erase" });
  });
});

describe("purgeTenant", () => {
  it("refuses a wrong confirm, then purges, leaving the sibling untouched and dropping the cached tenant", async () => {
    const t = await s.tenants.create({ name: "SDK Purge Me", parent_id: root.id });
    await seed(t);
    const siblingBefore = (await s.compliance.exportTenant(b.id)).counts;

    const refused = await failure(s.compliance.purgeTenant(t.id, { confirm: "not-the-slug" }));
    expect(isStratumError(refused, "VALIDATION_FAILED")).toBe(true);
    expect((await s.compliance.exportTenant(t.id)).counts["shared.users"]).toBe(2);

    // Cached now; the purge must not leave this entry behind.
    const rec = countingFetch();
    const cached = f.sdk({ fetch: rec.fetch });
    await cached.tenants.get(t.id);
    await cached.tenants.get(t.id);
    const tenantReads = () => rec.calls.filter((c) => c === `GET /api/v1/tenants/${t.id}`).length;
    expect(tenantReads()).toBe(1);
    const result = await cached.compliance.purgeTenant(t.id, { confirm: t.slug, keepHome: true });
    expect(result).toMatchObject({ tenant_id: t.id, home_removed: null });
    expect(result.counts["shared.users"]).toBe(2);
    expect(result.counts["shared.tickets"]).toBe(2);
    const gone = await failure(cached.tenants.get(t.id));
    expect(isStratumError(gone, "TENANT_NOT_FOUND")).toBe(true);
    expect(tenantReads()).toBe(2);

    expect((await s.compliance.exportTenant(b.id)).counts).toEqual(siblingBefore);
    const tomb = await s.audit.list(root.id, { action: "gdpr.purge" });
    expect(tomb.entries.map((e) => e.target_id)).toContain(t.id);
  });
});

describe("subjects and consents", () => {
  it("grants, withdraws, lists and reads the history of consents", async () => {
    const granted = await s.compliance.grantConsent(a.id, "cust-1", "marketing_email", "signup_form");
    expect(granted).toMatchObject({ tenant_id: a.id, subject_id: "cust-1", purpose: "marketing_email", granted: true, source: "signup_form" });
    expect(typeof granted.created_at).toBe("string");
    await s.compliance.recordConsent(a.id, "cust-1", { purpose: "analytics", granted: true });
    const withdrawn = await s.compliance.withdrawConsent(a.id, "cust-1", "marketing_email");
    expect(withdrawn).toMatchObject({ granted: false, source: null });

    expect((await s.compliance.listConsents(a.id, "cust-1")).map((c) => [c.purpose, c.granted])).toEqual([
      ["analytics", true],
      ["marketing_email", false],
    ]);
    expect((await s.compliance.consentHistory(a.id, "cust-1", "marketing_email")).map((c) => c.granted)).toEqual([true, false]);
    expect(await s.compliance.consentHistory(a.id, "cust-1")).toHaveLength(3);
    const bad = await failure(s.compliance.grantConsent(a.id, "cust-1", "Not A Purpose"));
    expect(isStratumError(bad, "VALIDATION_FAILED")).toBe(true);
  });

  it("exports one subject (parsed and streamed) and erases them, keeping consents on request", async () => {
    const t = await s.tenants.create({ name: "SDK Subjects", parent_id: root.id });
    const [alice, bob] = await seed(t);
    await s.compliance.grantConsent(t.id, alice!, "analytics");

    const doc = await s.compliance.exportSubject(t.id, alice!);
    expect(doc).toMatchObject({ format: "stratum-prisma/subject-export@1", tenant_id: t.id, subject_id: alice });
    expect(doc.sources["shared"]!["users"]!.map((u) => u["id"])).toEqual([alice]);
    expect(doc.sources["shared"]!["tickets"]).toHaveLength(1);
    expect(doc.consents.map((c) => c.purpose)).toEqual(["analytics"]);
    const streamed = JSON.parse((await text(await s.compliance.exportSubjectStream(t.id, alice!))).text) as { subject_id: string };
    expect(streamed.subject_id).toBe(alice);

    const erased = await s.compliance.eraseSubject(t.id, alice!, { keepConsents: true });
    expect(erased.counts).toMatchObject({ "shared.users": 1, "shared.tickets": 1 });
    expect(await s.compliance.listConsents(t.id, alice!)).toHaveLength(1);
    const after = await s.compliance.exportTenant(t.id);
    expect(after.sources["shared"]!["users"]!.map((u) => u["id"])).toEqual([bob]);

    await s.compliance.eraseSubject(t.id, alice!);
    expect(await s.compliance.listConsents(t.id, alice!)).toEqual([]);
  });
});

describe("stream transport", () => {
  it("applies the timeout to the headers only: a body slower than timeoutMs still arrives whole", async () => {
    const server = await rawServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"format":"slow",');
      setTimeout(() => res.end('"counts":{}}'), 400);
    });
    try {
      const sdk = stratumSdk({ controlPlaneUrl: server.url, apiKey: BOOTSTRAP, timeoutMs: 150, retries: 0 });
      const { text: body, chunks } = await text(await sdk.compliance.exportTenantStream(a.id));
      expect(JSON.parse(body)).toEqual({ format: "slow", counts: {} });
      expect(chunks).toBeGreaterThanOrEqual(2);
    } finally {
      await server.close();
    }
  });

  it("times out when even the headers do not come, and retries the GET", async () => {
    let hits = 0;
    const server = await rawServer(() => {
      hits++;
    });
    try {
      const sdk = stratumSdk({ controlPlaneUrl: server.url, apiKey: BOOTSTRAP, timeoutMs: 100, retries: 1, retryDelayMs: 1 });
      const error = await failure(sdk.compliance.exportTenantStream(a.id));
      expect(error.code).toBe("TIMEOUT");
      await vi.waitFor(() => expect(hits).toBe(2), { timeout: 5_000, interval: 5 });
    } finally {
      await server.close();
    }
  });
});
