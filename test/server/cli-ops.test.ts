/**
 * The operator commands against a control plane on a real port (real PostgreSQL): health, keys,
 * tenants tree, audit tail, with --json; doctor's refusals; every --help has examples.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { buildProgram, main } from "../../src/cli/main.js";
import { createControlPlane } from "../../src/server/index.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

let f: ServerFixture;
let app: FastifyInstance;
let url: string;
beforeAll(async () => {
  f = await serverFixture("srv_cli_ops");
  app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await app?.close();
  await f?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs the CLI, returning what it printed on stdout (console.log). */
async function run(...args: string[]): Promise<string> {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void lines.push(parts.join(" ")));
  try {
    await buildProgram().parseAsync(["node", "stratum-prisma", ...args]);
  } finally {
    vi.mocked(console.log).mockRestore();
  }
  return lines.join("\n");
}
const conn = () => ["--server", url, "--api-key", BOOTSTRAP];
const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await run(...args, ...conn(), "--json")) as T;

describe("operator commands", () => {
  it("health prints what /ready checks", async () => {
    const report = await json<{ status: string; checks: Array<{ name: string; ok: boolean }> }>("health");
    expect(report.status).toBe("ready");
    expect(report.checks.map((c) => c.name)).toEqual(["database", "migrations", "scope_key", "connection"]);
    expect(await run("health", "--server", url)).toMatch(/^ok {3}database: .*\nready$/ms);
  });

  it("keys create, rotate, list and revoke", async () => {
    const created = await json<{ id: string; key: string }>("keys", "create", "--name", "cli", "--scopes", "tenants:read,audit:read", "--rate-limit", "30");
    expect(created.key).toMatch(/^sk_live_/);
    const rotated = await json<{ key: { id: string; key: string }; previous: { id: string } }>("keys", "rotate", created.id, "--grace", "0");
    expect(rotated.previous.id).toBe(created.id);
    const live = await json<Array<{ id: string }>>("keys", "list");
    expect(live.map((k) => k.id)).toContain(rotated.key.id);
    expect(live.map((k) => k.id)).not.toContain(created.id);
    const revoked = await json<{ revoked_at: string | null }>("keys", "revoke", rotated.key.id);
    expect(revoked.revoked_at).not.toBeNull();
    await expect(run("keys", "create", "--name", "x", "--scopes", "tenants:nope", ...conn())).rejects.toThrow(/Unknown scope\(s\) tenants:nope/);
  });

  it("tenants tree prints the hierarchy", async () => {
    const root = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Tree Root", slug: "tree_root" }), 201).id;
    const a = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Branch A", slug: "branch_a", parent_id: root }), 201).id;
    expectStatus(await f.call("POST", "/api/v1/tenants", { name: "Leaf", slug: "leaf_a1", parent_id: a }), 201);
    expectStatus(await f.call("POST", "/api/v1/tenants", { name: "Branch B", slug: "branch_b", parent_id: root }), 201);
    const text = await run("tenants", "tree", "--root", root, ...conn());
    expect(text.split("\n").map((l) => l.replace(/ \(.*$/, ""))).toEqual(["tree_root", "├─ branch_a", "│  └─ leaf_a1", "└─ branch_b"]);
    const tree = await json<Array<{ slug: string; children: Array<{ slug: string; children: unknown[] }> }>>("tenants", "tree");
    const mine = tree.find((t) => t.slug === "tree_root")!;
    expect(mine.children.map((c) => c.slug)).toEqual(["branch_a", "branch_b"]);
  });

  it("audit tail prints the subtree's latest entries, oldest first", async () => {
    const root = expectStatus<{ id: string }>(await f.call("POST", "/api/v1/tenants", { name: "Audited", slug: "audited" }), 201).id;
    expectStatus(await f.call("PUT", `/api/v1/tenants/${root}/config/plan`, { value: "gold" }), 200);
    const entries = await json<Array<{ action: string }>>("audit", "tail", root, "--limit", "5");
    expect(entries.map((e) => e.action)).toEqual(["tenant.create", "config.set"]);
    expect(await run("audit", "tail", root, "--action", "config.*", ...conn())).toMatch(/config\.set {2}by api_key:bootstrap/);
  });

  it("every operator command's --help shows examples", async () => {
    for (const command of [["health"], ["keys"], ["keys", "create"], ["keys", "rotate"], ["tenants", "tree"], ["audit", "tail"], ["doctor"]]) {
      let out = "";
      vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
      await expect(buildProgram().parseAsync(["node", "stratum-prisma", ...command, "--help"])).rejects.toMatchObject({ code: "commander.helpDisplayed" });
      vi.mocked(process.stdout.write).mockRestore();
      expect(out, command.join(" ")).toContain("Examples:");
      expect(out, command.join(" ")).toContain("$ npx stratum-prisma");
    }
  });
});

describe("doctor", () => {
  it("refuses unknown table names and names each problem table once", async () => {
    await expect(run("doctor", "--url", f.db.appUrl, "--tables", "users,nosuch,users")).rejects.toThrow(/No such table: nosuch\./);
    let out = "";
    vi.spyOn(console, "log").mockImplementation((s: string) => void (out += s));
    // The owner owns the tenant tables: doctor prints the report, then fails.
    await expect(
      buildProgram().parseAsync(["node", "stratum-prisma", "doctor", "--url", f.db.ownerUrl, "--tables", "users,tickets,users", "--json"]),
    ).rejects.toThrow(/problem/);
    const parsed = JSON.parse(out) as { ok: boolean; problems: string[] };
    expect(parsed.ok).toBe(false);
    const owned = parsed.problems.find((p) => p.includes("owns tenant tables"))!;
    expect(owned).toMatch(/\((tickets, users|users, tickets)\)/);
  });

  it("a missing database is one line, not a stack trace", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...parts: unknown[]) => void errors.push(parts.join(" ")));
    const missing = f.db.appUrl.replace(/\/[^/?]+(\?|$)/, "/stratum_no_such_db$1");
    expect(await main(["node", "stratum-prisma", "doctor", "--url", missing, "--tables", "users"])).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^stratum-prisma: .*database does not exist/);
    expect(errors[0]).not.toMatch(/\n\s+at /);
  });
});
