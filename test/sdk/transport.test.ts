/**
 * Transport failures: no control plane is involved, only servers that misbehave the ways a
 * network does (refuse, stall, answer with a proxy's HTML page).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { stratum, StratumError, StratumTransportError } from "../../src/sdk/index.js";
import { failure, rawServer } from "./support.js";

const TENANT = "00000000-0000-4000-8000-000000000001";
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A server recording each request's method and path, answering with `answer`. */
async function recording(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: string[] = [];
  const server = await rawServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  close = server.close;
  return { seen, url: server.url };
}

describe("transport", () => {
  it("a refused connection is NETWORK_ERROR, after the retries of an idempotent request", async () => {
    const server = await rawServer((_req, res) => res.end());
    const url = server.url;
    await server.close(); // nothing listens there any more
    const error = await failure(stratum({ controlPlaneUrl: url, apiKey: "k", retries: 2, retryDelayMs: 1 }).tenants.get(TENANT));
    expect(error).toBeInstanceOf(StratumTransportError);
    expect(error).toMatchObject({ code: "NETWORK_ERROR", message: expect.stringContaining("ECONNREFUSED") });
  });

  it("a stalled answer is TIMEOUT; GET is retried, POST is not", async () => {
    const { seen, url } = await recording(() => undefined); // never answers
    const s = stratum({ controlPlaneUrl: url, apiKey: "k", timeoutMs: 150, retries: 2, retryDelayMs: 1, cache: false });
    expect(await failure(s.tenants.get(TENANT))).toMatchObject({ code: "TIMEOUT" });
    expect(seen).toEqual(Array(3).fill(`GET /api/v1/tenants/${TENANT}`));
    seen.length = 0;
    expect(await failure(s.tenants.create({ name: "x" }))).toMatchObject({ code: "TIMEOUT" });
    expect(seen).toEqual(["POST /api/v1/tenants"]);
    seen.length = 0;
    // PUT and DELETE are idempotent: retried.
    expect(await failure(s.config.set(TENANT, "k", { value: 1 }))).toMatchObject({ code: "TIMEOUT" });
    expect(seen).toHaveLength(3);
  });

  it("a gateway error page is BAD_RESPONSE, retried for GET until a real answer comes", async () => {
    let n = 0;
    const { seen, url } = await recording((_req, res) => {
      n++;
      if (n < 3) {
        res.writeHead(502, { "content-type": "text/html" }).end("<html>Bad Gateway</html>");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: [], next_cursor: null }));
    });
    const s = stratum({ controlPlaneUrl: url, apiKey: "k", retries: 2, retryDelayMs: 1 });
    expect(await s.tenants.list()).toEqual({ data: [], next_cursor: null });
    expect(seen).toHaveLength(3);
    n = 0;
    seen.length = 0;
    const bad = await failure(s.tenants.archive(TENANT));
    expect(bad).toBeInstanceOf(StratumTransportError);
    expect(bad).toMatchObject({ code: "BAD_RESPONSE", status: 502 });
    expect(seen).toHaveLength(1);
  });

  it("a stratum error answer is final (no retry), even a 503; unknown codes become INTERNAL with the server's code kept", async () => {
    const { seen, url } = await recording((req, res) => {
      const body = req.url?.includes("/config")
        ? { error: { code: "SOMETHING_NEW", message: "from a newer server" } }
        : { error: { code: "UNSAFE_CONNECTION", message: "run stratum doctor" } };
      res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    const s = stratum({ controlPlaneUrl: url, apiKey: "k", retries: 3, retryDelayMs: 1 });
    const unsafe = await failure(s.tenants.get(TENANT));
    expect(unsafe).toBeInstanceOf(StratumError);
    expect(unsafe).toMatchObject({ code: "UNSAFE_CONNECTION", details: { http_status: 503 } });
    expect(seen).toHaveLength(1);
    expect(await failure(s.config.resolve(TENANT))).toMatchObject({ code: "INTERNAL", details: { http_status: 503, server_code: "SOMETHING_NEW" } });
  });

  it("a 200 that is not JSON is BAD_RESPONSE; the API key goes in X-API-Key", async () => {
    const keys: Array<string | undefined> = [];
    const { url } = await recording((req, res) => {
      keys.push(req.headers["x-api-key"] as string | undefined);
      res.writeHead(200, { "content-type": "text/plain" }).end("hello");
    });
    expect(await failure(stratum({ controlPlaneUrl: url, apiKey: "sk_test_abc" }).tenants.list())).toMatchObject({ code: "BAD_RESPONSE", status: 200 });
    expect(keys).toEqual(["sk_test_abc"]);
  });

  it("uses the fetch it is given", async () => {
    const urls: string[] = [];
    const fake: typeof fetch = async (input) => {
      urls.push(String(input));
      return new Response(JSON.stringify([]), { status: 200, headers: { "content-type": "application/json" } });
    };
    const s = stratum({ controlPlaneUrl: "http://control.invalid:3001", apiKey: "k", fetch: fake });
    expect(await s.tenants.children(TENANT)).toEqual([]);
    expect(urls).toEqual([`http://control.invalid:3001/api/v1/tenants/${TENANT}/children`]);
  });

  it("refuses a client without url or key, and a cache without a bound", () => {
    expect(() => stratum({ controlPlaneUrl: "", apiKey: "k" })).toThrow(StratumError);
    expect(() => stratum({ controlPlaneUrl: "http://x", apiKey: "" })).toThrow(/apiKey/);
    expect(() => stratum({ controlPlaneUrl: "http://x", apiKey: "k", cache: { max: 0 } })).toThrow(/cache.max/);
  });
});
