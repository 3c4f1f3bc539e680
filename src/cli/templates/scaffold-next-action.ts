/**
 * `stratum scaffold integration next`, part 2: example server actions for the tenant model. No
 * `next/*` import here: the tenant plumbing lives in lib/stratum.ts, so these functions can be
 * called from tests and scripts inside `runWithTenant`.
 */
import type { IntegrationTemplateInput } from "./scaffold-shared.js";

export function renderNextAction(t: IntegrationTemplateInput & { libImport: string }): string {
  return `"use server";
/**
 * Example server actions on ${t.model}, scoped to the request's tenant (see ${t.libImport}).
 * Written by \`stratum scaffold integration next\`; yours to edit.
 *
 *   // app/${t.route}/page.tsx (a server component)
 *   import { list${t.plural} } from "../actions/${t.route}";
 *   export default async function Page() { const rows = await list${t.plural}(); … }
 *
 * Actions never take a tenant id from their arguments: a browser can call an action with any
 * arguments it likes, so the tenant comes from the request (middleware, after authentication).
 */
import { getPrisma, requestTenantId, withTenant } from "${t.libImport}";

/** The tenant's ${t.route}. Ambient form: plain model calls inside the tenant's context. */
export async function list${t.plural}() {
  return withTenant(() => getPrisma().${t.delegate}.findMany({ take: 100 }));
}

/** How many ${t.route} the tenant has. Explicit form: \`$tenant(id)\` scopes one client to one tenant. */
export async function count${t.plural}(): Promise<number> {
  const tenantId = await requestTenantId();
  return getPrisma().$tenant(tenantId).${t.delegate}.count();
}
`;
}
