/** SHARED_RLS: shared tables, rows filtered by the policy on the signed scope. Nothing to provision. */
import type { IsolationStrategy } from "./strategy.js";

export function rlsStrategy(searchPath = "public"): IsolationStrategy {
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
