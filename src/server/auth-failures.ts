/**
 * Failed authentication, limited per source address: after `limit` wrong keys within `windowMs`
 * a source gets 429 (before its key is even looked at) until the oldest failure leaves the
 * window, so keys cannot be guessed at line rate. Kept in process memory on purpose: it must
 * work without Redis, and a guesser spread over several instances is still slowed per instance.
 */
import { LRUCache } from "lru-cache";
import { StratumError } from "../core/errors.js";

export interface AuthFailureLimit {
  /** Wrong keys allowed per source address in each window; default 20. */
  limit: number;
  /** Window length in ms; default 60 000. */
  windowMs: number;
}

export const DEFAULT_AUTH_FAILURE_LIMIT: AuthFailureLimit = { limit: 20, windowMs: 60_000 };

export interface AuthFailureGate {
  /** Throws RATE_LIMITED when the source is over its budget of failures. */
  check(source: string): void;
  record(source: string): void;
}

export function createAuthFailureGate(rule: AuthFailureLimit, now: () => number = Date.now): AuthFailureGate {
  if (!Number.isInteger(rule.limit) || rule.limit < 1 || !(rule.windowMs > 0)) {
    throw new StratumError("VALIDATION_FAILED", "createControlPlane: authFailureLimit needs a positive whole limit and a positive windowMs.", {
      field: "authFailureLimit",
    });
  }
  // Bounded: a flood from many addresses evicts the oldest sources instead of growing memory.
  const failures = new LRUCache<string, number[]>({ max: 50_000 });
  const recent = (source: string): number[] => {
    const since = now() - rule.windowMs;
    const kept = (failures.get(source) ?? []).filter((t) => t > since);
    if (kept.length > 0) failures.set(source, kept);
    else failures.delete(source);
    return kept;
  };
  return {
    check(source) {
      const kept = recent(source);
      if (kept.length < rule.limit) return;
      const retryAfterMs = Math.max(1, kept[0]! + rule.windowMs - now());
      throw new StratumError(
        "RATE_LIMITED",
        `Too many requests with a wrong API key from this address; retry in ${Math.ceil(retryAfterMs / 1000)} s with a valid key.`,
        { retryAfterMs, reason: "authentication_failures" },
      );
    },
    record(source) {
      failures.set(source, [...recent(source), now()]);
    },
  };
}
