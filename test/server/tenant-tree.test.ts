/** Tree conveniences on real PostgreSQL: root, slug change, ancestors and descendants in pages; HTTP and SDK. */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stratum as sdk, type StratumSdk } from "../../src/sdk/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { BOOTSTRAP, expectStatus, serverFixture, type ServerFixture } from "./support.js";

interface T {
  id: string;
  slug: string;
}
let f: ServerFixture;
let app: FastifyInstance;
let s: StratumSdk;
const api = "/api/v1";
let root: string;
let chain: string[]; // root → a → b → c
let all: string[]; // every descendant of root, depth-first
const create = async (name: string, parent_id?: string) =>
  expectStatus<T>(await f.call("POST", `${api}/tenants`, { name, ...(parent_id ? { parent_id } : {}) }), 201).id;

async function collect(path: string, limit: number, key = BOOTSTRAP): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const url: string = `${api}${path}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page: { data: T[]; next_cursor: string | null } = expectStatus(await f.call("GET", url, undefined, key), 200);
    pages.push(page.data.map((t: T) => t.id));
    cursor = page.next_cursor;
  } while (cursor);
  return pages;
}

beforeAll(async () => {
  f = await serverFixture("srv_tenant_tree");
  root = await create("Tree Root");
  const a = await create("Tree A", root);
  const b = await create("Tree B", a);
  const c = await create("Tree C", b);
  chain = [root, a, b, c];
  await create("Tree A2", a);
  await create("Tree Side", root);
  all = (await f.prisma.$stratum.getDescendants(root)).map((t) => t.id);
  app = createControlPlane({ prisma: f.prisma, bootstrapKey: BOOTSTRAP });
  s = sdk({ controlPlaneUrl: await app.listen({ port: 0, host: "127.0.0.1" }), apiKey: BOOTSTRAP });
});
afterAll(async () => {
  await app?.close();
  await f?.close();
});

describe("descendants and ancestors in pages", () => {
  it("pages of 2 cover the subtree depth-first, once each, in the same order as the whole list", async () => {
    expect(all).toHaveLength(5);
    const pages = await collect(`/tenants/${root}/descendants/page`, 2);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(all);
  });

  it("ancestors come root first, a page at a time; a tenant key sees only those inside its subtree", async () => {
    const c = chain[3]!;
    expect((await collect(`/tenants/${c}/ancestors/page`, 1)).flat()).toEqual(chain.slice(0, 3));
    const key = expectStatus<{ key: string }>(
      await f.call("POST", `${api}/api-keys`, { name: "a key", scopes: ["tenants:read"], tenant_id: chain[1] }),
      201,
    ).key;
    expect((await collect(`/tenants/${c}/ancestors/page`, 5, key)).flat()).toEqual([chain[1], chain[2]]);
  });

  it("refuses a forged cursor and an unknown tenant", async () => {
    const bad = await f.call("GET", `${api}/tenants/${root}/descendants/page?cursor=${Buffer.from("x').; drop").toString("base64url")}`);
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, "VALIDATION_FAILED"]);
    const unknown = await f.call("GET", `${api}/tenants/00000000-0000-4000-8000-000000000000/descendants/page`);
    expect(unknown.statusCode).toBe(404);
  });
});

describe("root and slug", () => {
  it("the root of a deep tenant; for a tenant key, the top of what it sees", async () => {
    expect(expectStatus<T>(await f.call("GET", `${api}/tenants/${chain[3]}/root`), 200).id).toBe(root);
    const key = expectStatus<{ key: string }>(
      await f.call("POST", `${api}/api-keys`, { name: "b key", scopes: ["tenants:read"], tenant_id: chain[2] }),
      201,
    ).key;
    expect(expectStatus<T>(await f.call("GET", `${api}/tenants/${chain[3]}/root`, undefined, key), 200).id).toBe(chain[2]);
  });

  it("changes a slug (audited), refuses a taken or malformed one, and the old slug no longer finds it", async () => {
    const id = await create("Sluggy");
    const old = expectStatus<T>(await f.call("GET", `${api}/tenants/${id}`), 200).slug;
    expect(expectStatus<T>(await f.call("PUT", `${api}/tenants/${id}/slug`, { slug: "renamed_sluggy" }), 200).slug).toBe("renamed_sluggy");
    expect(expectStatus<T>(await f.call("GET", `${api}/tenants/by-slug/renamed_sluggy`), 200).id).toBe(id);
    expect((await f.call("GET", `${api}/tenants/by-slug/${old}`)).statusCode).toBe(404);
    const taken = await f.call("PUT", `${api}/tenants/${id}/slug`, { slug: expectStatus<T>(await f.call("GET", `${api}/tenants/${root}`), 200).slug });
    expect([taken.statusCode, taken.json().error.code]).toEqual([409, "SLUG_TAKEN"]);
    const invalid = await f.call("PUT", `${api}/tenants/${id}/slug`, { slug: "stratum_x" });
    expect(invalid.json().error.code).toBe("INVALID_SLUG");
    const audit = await f.ownerQuery<{ before: { slug: string }; after: { slug: string } }>(
      `SELECT before, after FROM stratum_audit WHERE action = 'tenant.slug_change' AND target_id = $1`,
      [id],
    );
    expect(audit).toEqual([{ before: { slug: old }, after: { slug: "renamed_sluggy" } }]);
  });
});

describe("in the SDK", () => {
  it("root, changeSlug, descendantsPage and ancestorsPage against the running server", async () => {
    expect((await s.tenants.root(chain[2]!)).id).toBe(root);
    const first = await s.tenants.descendantsPage(root, { limit: 3 });
    const second = await s.tenants.descendantsPage(root, { limit: 3, cursor: first.next_cursor! });
    expect([...first.data, ...second.data].map((t) => t.id)).toEqual(all);
    expect(second.next_cursor).toBeNull();
    expect((await s.tenants.ancestorsPage(chain[3]!)).data.map((t) => t.id)).toEqual(chain.slice(0, 3));
    const id = await create("Sdk Slug");
    expect((await s.tenants.changeSlug(id, "sdk_slug_new")).slug).toBe("sdk_slug_new");
  });
});
