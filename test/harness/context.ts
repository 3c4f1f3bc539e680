/**
 * Values globalSetup hands to the test workers: vitest `provide`/`inject`, mirrored in env vars
 * (STRATUM_TEST_*) so the harness also works from plain scripts started by a test.
 */
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** Random 32-byte hex key signing tenant scopes, fresh per run (also STRATUM_TEST_SCOPE_KEY). */
    scopeKey: string;
    /** Superuser URL of the admin database. */
    stratumAdminUrl: string;
    /** Template database with every migration applied. */
    stratumTemplate: string;
    /** Identifies this vitest run (second PostgreSQL, lock files). */
    stratumRunId: string;
    redisUrl: string;
    redisError: string;
  }
}

export type ContextKey = "scopeKey" | "stratumAdminUrl" | "stratumTemplate" | "stratumRunId" | "redisUrl" | "redisError";

export const CONTEXT_ENV: Record<ContextKey, string> = {
  scopeKey: "STRATUM_TEST_SCOPE_KEY",
  stratumAdminUrl: "STRATUM_TEST_ADMIN_URL",
  stratumTemplate: "STRATUM_TEST_TEMPLATE",
  stratumRunId: "STRATUM_TEST_RUN_ID",
  redisUrl: "STRATUM_TEST_REDIS_URL",
  redisError: "STRATUM_TEST_REDIS_ERROR",
};

/** A value from globalSetup, or '' when there is none. */
export function injected(key: ContextKey): string {
  let value: string | undefined;
  try {
    value = inject(key);
  } catch {
    value = undefined; // not inside a vitest worker
  }
  return value || process.env[CONTEXT_ENV[key]] || "";
}

export function requireInjected(key: ContextKey): string {
  const value = injected(key);
  if (!value) {
    throw new Error(`Tests: ${key} is missing; run the tests through vitest with vitest.config.ts (its globalSetup is test/harness/global-setup.ts).`);
  }
  return value;
}
