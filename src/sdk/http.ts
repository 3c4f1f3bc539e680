/**
 * One request to the control plane: URL, API key, timeout, error mapping and retries.
 *
 * Only idempotent methods are retried, and only when no control-plane answer arrived (network
 * error, timeout) or a gateway said the server was unreachable (502/503/504 without a stratum
 * error body). A stratum error answer is final: retrying UNSAFE_CONNECTION or RATE_LIMITED at
 * once would not change it.
 */
import { fromErrorBody, StratumTransportError } from "./errors.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type QueryValue = string | number | boolean | Date | null | undefined;

export interface TransportOptions {
  controlPlaneUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  /** Per attempt, default 10 000 ms. */
  timeoutMs?: number;
  /** Extra attempts for idempotent requests, default 2. */
  retries?: number;
  /** First backoff delay, doubled per attempt (with jitter), default 100 ms. */
  retryDelayMs?: number;
}

export interface RequestSpec {
  method: HttpMethod;
  /** Path under /api/v1, segments already encoded. */
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
}

export interface Transport {
  request<T>(spec: RequestSpec): Promise<T>;
  /**
   * The answer's body as a byte stream, for answers too large to hold (exports). The timeout
   * and retries cover reaching the server and its headers only: reading the stream has no
   * deadline, since a large export may take longer than any per-request timeout.
   */
  stream(spec: RequestSpec): Promise<ReadableStream<Uint8Array>>;
}

const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(["GET", "PUT", "DELETE"]);
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);
const MAX_BACKOFF_MS = 2_000;

/** Encodes one path segment (ids, config keys with `/` or `:`). */
export const seg = (value: string): string => encodeURIComponent(value);

function baseUrl(controlPlaneUrl: string): string {
  const trimmed = controlPlaneUrl.replace(/\/+$/, "");
  return trimmed.endsWith("/api/v1") ? trimmed : `${trimmed}/api/v1`;
}

function buildUrl(base: string, spec: RequestSpec): string {
  const url = new URL(`${base}${spec.path}`);
  for (const [name, value] of Object.entries(spec.query ?? {})) {
    if (value === undefined || value === null) continue;
    url.searchParams.set(name, value instanceof Date ? value.toISOString() : String(value));
  }
  return url.toString();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class RetryableAnswer extends Error {
  constructor(readonly final: StratumTransportError) {
    super(final.message);
  }
}

export function createTransport(options: TransportOptions): Transport {
  const base = baseUrl(options.controlPlaneUrl);
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retries = Math.max(0, options.retries ?? 2);
  const retryDelayMs = options.retryDelayMs ?? 100;

  async function attempt<T>(spec: RequestSpec, url: string): Promise<T> {
    const headers = headersFor(spec);
    let response: Response;
    let text: string;
    try {
      // The timeout covers reading the body too: a server that stalls mid-answer is as stuck as one that never answers.
      const signal = AbortSignal.timeout(timeoutMs);
      response = await doFetch(url, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? null : JSON.stringify(spec.body),
        signal,
      });
      text = await response.text();
    } catch (error) {
      throw transportFailure(error, spec, timeoutMs);
    }
    const body = parseJson(text);
    if (response.ok) {
      if (body === NOT_JSON) {
        throw new StratumTransportError("BAD_RESPONSE", `${spec.method} ${spec.path}: HTTP ${response.status} with a body that is not JSON.`, {
          status: response.status,
        });
      }
      return body as T;
    }
    throw failedAnswer(spec, response.status, body);
  }

  function headersFor(spec: RequestSpec): Record<string, string> {
    const headers: Record<string, string> = { accept: "application/json", "x-api-key": options.apiKey };
    if (spec.body !== undefined) headers["content-type"] = "application/json";
    return headers;
  }

  /** The error for a non-2xx answer: the server's StratumError, or a (maybe retryable) transport error. */
  function failedAnswer(spec: RequestSpec, status: number, body: unknown): Error {
    const stratumError = fromErrorBody(status, body);
    if (stratumError) return stratumError;
    const bad = new StratumTransportError(
      "BAD_RESPONSE",
      `${spec.method} ${spec.path}: HTTP ${status} without a control-plane error body (a proxy or another server answered).`,
      { status },
    );
    return GATEWAY_STATUSES.has(status) ? new RetryableAnswer(bad) : bad;
  }

  async function openStream(spec: RequestSpec, url: string): Promise<ReadableStream<Uint8Array>> {
    // An AbortController rather than AbortSignal.timeout: the deadline must stop applying once the body starts flowing.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException("The operation timed out.", "TimeoutError")), timeoutMs);
    try {
      let response: Response;
      let text: string;
      try {
        response = await doFetch(url, {
          method: spec.method,
          headers: headersFor(spec),
          body: spec.body === undefined ? null : JSON.stringify(spec.body),
          signal: controller.signal,
        });
        if (response.ok) {
          if (!response.body)
            throw new StratumTransportError("BAD_RESPONSE", `${spec.method} ${spec.path}: HTTP ${response.status} without a body.`, {
              status: response.status,
            });
          return response.body;
        }
        // Error answers are small JSON documents, read under the same deadline as the headers.
        text = await response.text();
      } catch (error) {
        if (error instanceof StratumTransportError) throw error;
        throw transportFailure(error, spec, timeoutMs);
      }
      throw failedAnswer(spec, response.status, parseJson(text));
    } finally {
      clearTimeout(timer);
    }
  }

  async function withRetries<T>(spec: RequestSpec, run: (url: string) => Promise<T>): Promise<T> {
    const url = buildUrl(base, spec);
    const attempts = IDEMPOTENT.has(spec.method) ? retries + 1 : 1;
    for (let n = 1; ; n++) {
      try {
        return await run(url);
      } catch (error) {
        const retryable = error instanceof RetryableAnswer || (error instanceof StratumTransportError && error.code !== "BAD_RESPONSE");
        const final = error instanceof RetryableAnswer ? error.final : error;
        if (!retryable || n >= attempts) throw final;
        // Full jitter: many clients that failed together do not come back together.
        const cap = Math.min(MAX_BACKOFF_MS, retryDelayMs * 2 ** (n - 1));
        await sleep(Math.random() * cap);
      }
    }
  }

  return {
    request: <T>(spec: RequestSpec) => withRetries(spec, (url) => attempt<T>(spec, url)),
    stream: (spec) => withRetries(spec, (url) => openStream(spec, url)),
  };
}

const NOT_JSON = Symbol("not json");

/** An empty body (204) is undefined; an unparseable one is NOT_JSON. */
function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

function transportFailure(error: unknown, spec: RequestSpec, timeoutMs: number): StratumTransportError {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return new StratumTransportError("TIMEOUT", `${spec.method} ${spec.path}: no answer from the control plane within ${timeoutMs} ms.`, { cause: error });
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const reason = typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : String(error);
  return new StratumTransportError("NETWORK_ERROR", `${spec.method} ${spec.path}: the control plane could not be reached (${reason}).`, { cause: error });
}
