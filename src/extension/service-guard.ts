/**
 * Input checks every `$stratum` method gets before any of its SQL runs: a tenant id that is not a
 * uuid is INVALID_TENANT_ID (not PostgreSQL's 22P02), and a string holding a NUL character
 * anywhere in the arguments is VALIDATION_FAILED (not 22021 / 22P05). Each service validates its
 * own inputs besides; this is the one place the two rules hold for all of them. And no method runs
 * before the database is known to hold this process's scope key.
 */
import { assertNoNul, assertTenantId } from "../core/validate.js";

/** Methods whose first argument is a tenant id. */
const TENANT_FIRST = new Set([
  "updateTenant",
  "getTenant",
  "getChildren",
  "getAncestors",
  "getDescendants",
  "moveTenant",
  "suspendTenant",
  "archiveTenant",
  "restoreTenant",
  "deleteTenant",
  "setConfig",
  "setConfigBatch",
  "deleteConfig",
  "getConfig",
  "resolveConfig",
  "resolveConfigKey",
  "createPermission",
  "updatePermission",
  "revokePermission",
  "resolvePermissions",
  "resolvePermission",
  "listPermissions",
  "createPolicy",
  "updatePolicy",
  "deletePolicy",
  "listPolicies",
  "setIsolation",
  "resumeIsolationMove",
  "rollbackIsolationMove",
  "listIsolationMoves",
  "listAudit",
  "registerWebhook",
  "listWebhooks",
  "exportTenantData",
  "exportTenantDataJson",
  "purgeTenant",
  "exportSubjectData",
  "exportSubjectDataJson",
  "eraseSubject",
  "recordConsent",
  "grantConsent",
  "withdrawConsent",
  "listConsents",
  "consentHistory",
  "hasConsent",
  "evaluate",
  "diffConfig",
  "defineRole",
  "updateRole",
  "deleteRole",
  "listRoles",
  "resolveRole",
  "assignRole",
  "unassignRole",
  "listRoleAssignments",
  "resolvePrincipalScopes",
  "getDescendantsPage",
  "getAncestorsPage",
  "getRoot",
  "changeSlug",
]);

/** Methods that return an iterable or a handle, not a promise: a refusal is thrown rather than rejected. */
const SYNCHRONOUS = new Set(["exportTenantData", "exportSubjectData", "scheduleRetention"]);

/** Methods that must work whatever the database says (shutting down, diagnosing). */
const UNGATED = new Set(["close", "doctor", "checkReadiness"]);

/**
 * `keyReady` resolves once the database is known to hold the scope key: until then no method runs
 * a statement whose rows the database would silently hide (SCOPE_KEY_MISMATCH instead).
 */
export function guardServices<T extends Record<string, unknown>>(services: T, keyReady: () => Promise<void>): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(services)) {
    if (typeof value !== "function") {
      guarded[name] = value;
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    guarded[name] = (...args: unknown[]) => {
      try {
        if (TENANT_FIRST.has(name)) assertTenantId(args[0]);
        if (name === "diffConfig") assertTenantId(args[1]);
        assertNoNul(args, () => `${name} arguments`);
      } catch (error) {
        if (SYNCHRONOUS.has(name)) throw error;
        return Promise.reject(error);
      }
      if (SYNCHRONOUS.has(name) || UNGATED.has(name)) return fn(...args);
      return keyReady().then(() => fn(...args));
    };
  }
  return guarded as T;
}
