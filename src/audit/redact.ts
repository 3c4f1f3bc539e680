/**
 * Redaction of sensitive values before they reach the audit log. Keys are compared
 * case-insensitively with `_` and `-` ignored, so `apiKey`, `api_key` and `API-KEY` are one key.
 * An object that marks itself `sensitive: true` (a sensitive config row) has its `value` and
 * `encrypted_value` redacted too.
 */
export const REDACTED = "[REDACTED]";

/** Keys redacted whenever they appear, at any depth. */
export const DEFAULT_SENSITIVE_KEYS: readonly string[] = [
  "password",
  "passwd",
  "secret",
  "token",
  "access_token",
  "refresh_token",
  "api_key",
  "key_hash",
  "private_key",
  "encrypted_value",
  "authorization",
  "cookie",
  "credit_card",
  "ssn",
];

// Every audited write redacts its row: the normalized keys are remembered rather than rebuilt
// with a regex per key per call (a few percent of a createTenant's Node CPU).
const normalizedKeys = new Map<string, string>();
const keySets = new WeakMap<readonly string[], ReadonlySet<string>>();

function normalize(key: string): string {
  let n = normalizedKeys.get(key);
  if (n === undefined) {
    n = key.toLowerCase().replace(/[_-]/g, "");
    if (normalizedKeys.size < 10_000) normalizedKeys.set(key, n);
  }
  return n;
}

function sensitiveSet(sensitiveKeys: readonly string[]): ReadonlySet<string> {
  let set = keySets.get(sensitiveKeys);
  if (!set) {
    set = new Set(sensitiveKeys.map(normalize));
    keySets.set(sensitiveKeys, set);
  }
  return set;
}

/**
 * A deep copy of `value` with the values under sensitive keys replaced by "[REDACTED]".
 * Dates become ISO strings, bigints strings (what JSON storage would do anyway); cycles are cut.
 */
export function redact(value: unknown, sensitiveKeys: readonly string[] = DEFAULT_SENSITIVE_KEYS): unknown {
  const keys = sensitiveSet(sensitiveKeys);
  const seen = new WeakSet<object>();
  const walk = (v: unknown): unknown => {
    if (v === null || v === undefined) return v ?? null;
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Date) return v.toISOString();
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return REDACTED;
    if (typeof v !== "object") return v;
    if (seen.has(v)) return "[Circular]";
    seen.add(v);
    if (Array.isArray(v)) return v.map(walk);
    const source = v as Record<string, unknown>;
    const sensitiveRow = source["sensitive"] === true;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(source)) {
      if (child === undefined) continue;
      const n = normalize(k);
      if (keys.has(n) || (sensitiveRow && (n === "value" || n === "encryptedvalue"))) {
        out[k] = child === null ? null : REDACTED;
      } else {
        out[k] = walk(child);
      }
    }
    seen.delete(v);
    return out;
  };
  return walk(value);
}
