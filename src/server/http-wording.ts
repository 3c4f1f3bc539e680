/**
 * The services' messages name library calls ("pass { cascade: true }", "listTenants()"): right
 * for code running next to the database, wrong for an HTTP client, who needs the route or query
 * parameter that does the same. Rewritten here rather than in the services, which stay
 * library-first; a test asserts no message a route can produce still names a library call.
 */
const REWRITES: ReadonlyArray<readonly [RegExp, string]> = [
  [/list tenants with listTenants\(\)/g, "list tenants with GET /api/v1/tenants"],
  [/create it with (?:prisma\.\$stratum\.)?createTenant\(\)/g, "create it with POST /api/v1/tenants"],
  [/restore it with (?:prisma\.\$stratum\.)?restoreTenant\(\)/g, "restore it with POST /api/v1/tenants/{id}/restore"],
  [/or pass \{ cascade: true \}/g, "or repeat the request with ?cascade=true"],
  [/the next_cursor of a previous listTenants\(\) page/g, "the next_cursor of a previous page"],
  [/\(setConfig with locked: false\)/g, "(PUT /api/v1/tenants/{id}/config/{key} with locked: false, on that tenant)"],
  [/[Cc]all resumeIsolationMove\(\) or rollbackIsolationMove\(\)/g, "POST /api/v1/tenants/{id}/isolation/resume or /isolation/rollback"],
  [
    /Webhooks are not configured: pass stratum\(\{ webhooks: \{ redis \} \}\)\./g,
    "Webhooks are not enabled on this server: its operator must configure them (a Redis URL for deliveries).",
  ],
];

/** Library calls left in a message after the rewrites: `name()` or `{ option: value }`. */
export const LIBRARY_CALL = /\b[a-z][A-Za-z]+\(\)|\{ ?[a-z_]+: [^}]*\}|stratum\(\{/;

export function httpWording(message: string): string {
  let out = message;
  for (const [pattern, replacement] of REWRITES) out = out.replace(pattern, replacement);
  return out;
}
