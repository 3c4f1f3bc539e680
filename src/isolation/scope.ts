/**
 * A tenant scope: which tenant a query runs for, how, and the signed token that proves it to
 * PostgreSQL. The scope travels in AsyncLocalStorage from `$tenant(id)` to the driver adapter,
 * which sends it with the query (see pg-pipeline.ts); it never lives in a session setting.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { StratumError } from "../core/errors.js";
import type { IsolationStrategyName } from "../core/types.js";
import type { ScopeMode } from "../sql/protocol.js";

// The protocol (setting, modes, admin id, signing) is shared with the generated SQL: src/sql/protocol.ts.
export { ADMIN_TENANT_ID, signScope, type ScopeMode } from "../sql/protocol.js";

export interface TenantScope {
  tenantId: string;
  mode: ScopeMode;
  strategy: IsolationStrategyName;
  /** Value of the transaction-local `stratum.tenant_id`: `<uuid>.<mode>.<signature>`. */
  token: string;
  /** Transaction-local search_path. */
  searchPath: string;
  /** Descendant views are read-only unless asked otherwise. */
  readOnly: boolean;
  /** DATABASE strategy: the pool key the adapter routes to; undefined means the main database. */
  placement?: string;
  /** SCHEMA strategy: Prisma qualifies every table with "public"; tenant tables lose it. */
  unqualify?: RegExp;
  /** Raw statements: reset session settings after the statement, in the same round trip. */
  resetSession?: boolean;
  /** Descendants view spanning several homes: per tenant table, the UNION ALL its reads use (descendants.ts). */
  tableSources?: ReadonlyMap<string, string>;
  /** Read on the hot standby of the tenant's home when one is configured (replica.ts); always read-only. */
  replica?: boolean;
  /** The WAL position the standby must have replayed to serve this read; the primary serves it until then. */
  replicaAfter?: string;
}

const storage = new AsyncLocalStorage<TenantScope>();
const rawStorage = new AsyncLocalStorage<true>();

export function currentScope(): TenantScope | undefined {
  return storage.getStore();
}

export function runInScope<T>(scope: TenantScope | undefined, fn: () => T): T {
  return storage.run(scope as TenantScope, fn);
}

/**
 * Marks the statements `fn` issues as raw SQL the caller wrote. The driver resets the session
 * after each of them (DISCARD ALL, or at the end of their transaction) so nothing they leave on a
 * pooled connection reaches its next borrower, and runs nothing named on a session they touched.
 */
export function runRawStatement<T>(fn: () => T): T {
  return rawStorage.run(true, fn);
}

/** True inside `runRawStatement`, or under a scope that carries a raw statement. */
export function inRawStatement(): boolean {
  return rawStorage.getStore() === true || storage.getStore()?.resetSession === true;
}

/**
 * SQL that installs `$1` as the current scope key (row 1); run it as the owner role (the app role
 * cannot read the table). A different current key becomes the previous one (row 2) and stays
 * accepted, so processes still signing with it keep working while the new key rolls out;
 * RETIRE_PREVIOUS_SCOPE_KEY_SQL ends that. Installing the same key again changes nothing.
 */
export const INSTALL_SCOPE_KEY_SQL = `WITH current_key AS (SELECT key FROM public.stratum_scope_keys WHERE id = 1),
demoted AS (
  INSERT INTO public.stratum_scope_keys (id, key) SELECT 2, c.key FROM current_key c WHERE c.key IS DISTINCT FROM $1::text
  ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key RETURNING id)
INSERT INTO public.stratum_scope_keys (id, key) VALUES (1, $1::text)
ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key WHERE stratum_scope_keys.key IS DISTINCT FROM EXCLUDED.key`;

/** Ends a rotation: only the current key's tokens remain valid. */
export const RETIRE_PREVIOUS_SCOPE_KEY_SQL = "DELETE FROM public.stratum_scope_keys WHERE id <> 1";

export function assertScopeKey(key: string | undefined): asserts key is string {
  if (!key || key.length < 32) {
    throw new StratumError(
      "VALIDATION_FAILED",
      "stratum: a scope key of at least 32 characters is required (option scopeKey or env STRATUM_SCOPE_KEY). " +
        "Generate one with `openssl rand -hex 32` and install it with `npx stratum-prisma migrate`.",
    );
  }
}

/**
 * Who and which request a statement runs for, sent with the scope prelude so database-side audit
 * (model audit triggers) records the same actor as the services do. The extension installs the
 * provider; without one, statements carry none.
 */
export interface StatementContext {
  actor: string;
  requestId: string;
}

const NO_CONTEXT: StatementContext = { actor: "", requestId: "" };
let contextProvider: () => StatementContext = () => NO_CONTEXT;

export function setStatementContextProvider(provider: () => StatementContext): void {
  contextProvider = provider;
}

export function statementContext(): StatementContext {
  return contextProvider();
}
