/**
 * Webhook signatures. The sender signs `<timestamp>.<raw body>` with HMAC-SHA256 under the
 * webhook's secret and sends `X-Stratum-Signature: v1=<hex>` with `X-Stratum-Timestamp` (unix
 * seconds). Receivers call `verifyWebhookSignature` on the raw body, before parsing it: the
 * timestamp inside the signed string is what makes a replayed request older than the tolerance
 * fail, and the compare is constant-time.
 *
 * Several `v1=` values may be sent, comma-separated (a receiver rotating secrets accepts either).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const WEBHOOK_HEADERS = {
  event: "x-stratum-event",
  delivery: "x-stratum-delivery",
  timestamp: "x-stratum-timestamp",
  signature: "x-stratum-signature",
} as const;

export const SIGNATURE_VERSION = "v1";

/** Default replay window: a request whose timestamp is further than this from now is rejected. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Hex HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function computeWebhookSignature(secret: string, timestamp: number | string, body: string | Uint8Array): string {
  const mac = createHmac("sha256", secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return mac.digest("hex");
}

/** The value of `X-Stratum-Signature` for one request. */
export function signatureHeader(secret: string, timestamp: number, body: string | Uint8Array): string {
  return `${SIGNATURE_VERSION}=${computeWebhookSignature(secret, timestamp, body)}`;
}

/** Headers as a `Headers` object (fetch, undici), or Node's `IncomingHttpHeaders`, or a plain record. */
export type WebhookHeaders = Headers | Record<string, string | readonly string[] | undefined>;

export interface VerifyOptions {
  /** Maximum distance between the signed timestamp and now, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** Current time in ms since the epoch (tests). Default Date.now(). */
  now?: number;
}

export type WebhookVerification =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "missing_headers" | "malformed" | "timestamp_out_of_range" | "signature_mismatch" };

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function" && typeof (headers as Headers).has === "function") {
    return (headers as Headers).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | readonly string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value.join(",") : (value as string | undefined);
}

/**
 * Checks a received webhook: timestamp within `toleranceSeconds` of now and one `v1=` signature
 * equal (constant-time) to HMAC-SHA256(secret, timestamp + "." + body). Pass the raw body bytes
 * or string exactly as received; a re-serialized JSON body will not verify.
 */
export function verifyWebhookSignature(secret: string, headers: WebhookHeaders, body: string | Uint8Array, options: VerifyOptions = {}): WebhookVerification {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const rawTimestamp = header(headers, WEBHOOK_HEADERS.timestamp);
  const rawSignature = header(headers, WEBHOOK_HEADERS.signature);
  if (!rawTimestamp || !rawSignature) return { ok: false, reason: "missing_headers" };
  if (!/^\d{1,15}$/.test(rawTimestamp.trim())) return { ok: false, reason: "malformed" };
  const timestamp = Number(rawTimestamp.trim());
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - timestamp) > tolerance) return { ok: false, reason: "timestamp_out_of_range" };

  const candidates = rawSignature
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${SIGNATURE_VERSION}=`))
    .map((part) => part.slice(SIGNATURE_VERSION.length + 1));
  if (candidates.length === 0) return { ok: false, reason: "malformed" };
  const expected = Buffer.from(computeWebhookSignature(secret, timestamp, body), "hex");
  let match = false;
  for (const candidate of candidates) {
    if (!/^[0-9a-f]{64}$/i.test(candidate)) continue;
    // Both sides are 32 bytes here, so timingSafeEqual never throws and leaks nothing by length.
    if (timingSafeEqual(expected, Buffer.from(candidate, "hex"))) match = true;
  }
  return match ? { ok: true, timestamp } : { ok: false, reason: "signature_mismatch" };
}
