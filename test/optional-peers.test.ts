/**
 * ioredis, bullmq and jose are optional peers (a library-only install does not have them). With
 * the three made unresolvable (test/support/hide-peers.mjs), every entry point still loads, and each
 * part that needs one refuses with PEER_DEPENDENCY_MISSING naming the `npm i` — where without the
 * lazy import the user would get Node's bare ERR_MODULE_NOT_FOUND at load. A missing ioredis is
 * not an outage: a fail-open rate limiter refuses rather than waving requests through uncounted.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { loadOptionalPeer } from "../src/core/optional-peer.js";
import { rejectsWithCode } from "./support/errors.js";

const exec = promisify(execFile);
const root = join(import.meta.dirname, "..");

type Outcome = { ok: true } | { ok: false; code?: string; message: string; details?: Record<string, unknown> };
let result: Record<string, Outcome>;

beforeAll(async () => {
  const { stdout } = await exec(process.execPath, ["--import", "tsx", "--import", "./test/support/hide-peers.mjs", "test/support/peers-missing-child.ts"], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  result = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as Record<string, Outcome>;
}, 120_000);

function refusal(name: string, pkg: string): void {
  const o = result[name];
  expect(o, name).toMatchObject({ ok: false, code: "PEER_DEPENDENCY_MISSING", details: { package: pkg, install: `npm i ${pkg}` } });
  expect((o as { message: string }).message).toContain(`npm i ${pkg}`);
}

describe("with ioredis, bullmq and jose not installed", () => {
  it("the peer is really missing: a plain import fails with Node's bare error (what a static import would throw at load)", () => {
    expect(result.bareImport).toMatchObject({ ok: false, code: "ERR_MODULE_NOT_FOUND" });
  });

  it("every entry point loads", () => {
    for (const entry of ["index", "sdk/index", "testing/index", "migrate/index", "server/index"]) expect(result[`entry:${entry}`], entry).toEqual({ ok: true });
  });

  it("the rate limiter refuses with PEER_DEPENDENCY_MISSING, even fail-open, and closes", () => {
    refusal("rateLimiter", "ioredis");
    expect(result.rateLimiterClose).toEqual({ ok: true });
  });

  it("the Redis change bus's ready rejects with PEER_DEPENDENCY_MISSING, and it closes", () => {
    refusal("changeBus", "ioredis");
    expect(result.changeBusClose).toEqual({ ok: true });
  });

  it("webhooks: queue() and dispatchPending() refuse, start() reports it to onError, close() returns", () => {
    refusal("webhookQueue", "bullmq");
    refusal("webhookDispatch", "bullmq");
    expect(result.webhookStartReported).toEqual({ ok: true });
    expect(result.webhookClose).toEqual({ ok: true });
  });

  it("a JWT check refuses with PEER_DEPENDENCY_MISSING (never taken for a bad token)", () => {
    refusal("jwt", "jose");
  });
});

describe("loadOptionalPeer", () => {
  it("passes through a failure that is not the peer missing (a broken install must not read as 'not installed')", async () => {
    const broken = Object.assign(new Error("Cannot find module './lib/x.js' imported from /n/ioredis/index.js"), { code: "ERR_MODULE_NOT_FOUND" });
    await expect(loadOptionalPeer("ioredis", "test", () => Promise.reject(broken))).rejects.toBe(broken);
    const missing = Object.assign(new Error("Cannot find package 'ioredis' imported from /app/x.js"), { code: "ERR_MODULE_NOT_FOUND" });
    await rejectsWithCode(
      loadOptionalPeer("ioredis", "test", () => Promise.reject(missing)),
      "PEER_DEPENDENCY_MISSING",
      { package: "ioredis" },
    );
  });

  it("loads an installed peer once per process", async () => {
    const a = await loadOptionalPeer("jose", "test");
    expect(typeof a.jwtVerify).toBe("function");
    expect(await loadOptionalPeer("jose", "test")).toBe(a);
  });
});
