import { z } from "zod";
import { StratumError } from "./errors.js";

/** Parses `input` with `schema`, turning zod's issues into one VALIDATION_FAILED error. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
  }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  throw new StratumError("VALIDATION_FAILED", `Invalid ${what}: ${summary}. Fix these fields and call again.`, { issues });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/** Tenant ids are uuids; anything else is refused before it reaches SQL (where it would be 22P02). */
export function assertTenantId(id: unknown, what = "tenant id"): asserts id is string {
  if (!isUuid(id)) {
    const shown = typeof id === "string" ? JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id) : typeof id;
    throw new StratumError("INVALID_TENANT_ID", `The ${what} ${shown} is not a uuid. Pass the tenant's id (tenant.id), not its slug or name.`, { what });
  }
}

/**
 * The path of the first string holding a NUL character in `value` (objects and arrays walked, at
 * most `limit` levels deep), or undefined. PostgreSQL cannot store U+0000 in text or jsonb (22021,
 * 22P05); a value with one is refused up front instead.
 */
export function nulPath(value: unknown, path = "", limit = 32): string | undefined {
  if (typeof value === "string") return value.includes("\0") ? path || "(value)" : undefined;
  if (limit <= 0 || value === null || typeof value !== "object" || value instanceof Date || ArrayBuffer.isView(value)) return undefined;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const found = nulPath(inner, path ? `${path}.${key}` : key, limit - 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * True when a string in `value` holds U+0000. The check every scoped call makes: it builds no
 * path and allocates nothing; nulPath names the place once one is found.
 */
function hasNul(value: unknown, limit: number): boolean {
  if (typeof value === "string") return value.includes("\0");
  if (limit <= 0 || value === null || typeof value !== "object" || value instanceof Date || ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) {
    for (const inner of value) if (hasNul(inner, limit - 1)) return true;
    return false;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && hasNul((value as Record<string, unknown>)[key], limit - 1)) return true;
  }
  return false;
}

/** `what` names the value in the error; a function is called only when there is one. */
export function assertNoNul(value: unknown, what: string | (() => string)): void {
  if (!hasNul(value, 32)) return;
  const at = nulPath(value);
  if (at) {
    if (typeof what === "function") what = what();
    throw new StratumError(
      "VALIDATION_FAILED",
      `Invalid ${what}: ${at} contains a NUL character (\\u0000), which PostgreSQL cannot store. Remove it and call again.`,
      {
        issues: [{ path: at, message: "contains a NUL character" }],
      },
    );
  }
}
