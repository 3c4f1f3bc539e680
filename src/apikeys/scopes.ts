/** What an API key may do. `*` grants everything; `keys:admin` manages keys. */
export const API_KEY_SCOPES = [
  "*",
  "tenants:read",
  "tenants:write",
  "config:read",
  "config:write",
  "permissions:read",
  "permissions:write",
  "isolation:read",
  "isolation:write",
  "audit:read",
  "audit:write",
  "webhooks:read",
  "webhooks:write",
  "gdpr:export",
  "gdpr:erase",
  "consent:read",
  "consent:write",
  "keys:admin",
  "roles:read",
  "roles:write",
  "ops:retention",
  "ops:keys",
  "ops:migrate",
] as const;

export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export function hasScope(granted: readonly string[], needed: ApiKeyScope): boolean {
  return granted.includes("*") || granted.includes(needed);
}
