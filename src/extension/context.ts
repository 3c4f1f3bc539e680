/**
 * Ambient tenant context for frameworks: middleware calls `runWithTenant(id, next)` and code below
 * it uses `prisma.$tenant()` (or plain model calls) without passing the id around.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { assertTenantId } from "../core/validate.js";

export interface TenantContext {
  tenantId: string;
  /** As `$tenant(id, { descendants })`. */
  descendants?: boolean | "same-database";
}

const tenantStorage = new AsyncLocalStorage<TenantContext>();

export function runWithTenant<T>(tenantId: string, fn: () => T, options: { descendants?: boolean | "same-database" } = {}): T {
  assertTenantId(tenantId);
  return tenantStorage.run({ tenantId, ...options }, () => {
    const result = fn();
    // Prisma's promises are lazy: start them here, inside the context, not where they are awaited.
    return (isThenable(result) ? Promise.resolve(result) : result) as T;
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

export function currentTenant(): TenantContext | undefined {
  return tenantStorage.getStore();
}
