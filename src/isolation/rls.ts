/** SHARED_RLS: shared tables, rows filtered by the policy on the signed scope. Nothing to provision. */
import { SHARED_SEARCH_PATH } from "./names.js";
import type { IsolationStrategy } from "./strategy.js";

export function rlsStrategy(searchPath = SHARED_SEARCH_PATH): IsolationStrategy {
  return {
    name: "SHARED_RLS",
    scope: (tenant, request, sign) => ({
      tenantId: tenant.id,
      mode: request.mode,
      strategy: "SHARED_RLS",
      token: sign(tenant.id, request.mode),
      searchPath,
      readOnly: request.readOnly,
    }),
    provision: async () => null,
    deprovision: async () => undefined,
  };
}
