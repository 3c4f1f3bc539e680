/**
 * The transaction `deleteTenant` runs in: stratum's own rows (the tenant, its webhooks and keys,
 * the audit row) under the admin scope, and the tenant's rows in the shared tables under the
 * tenant's own scope — both in one transaction, so a tenant is never gone while its rows stay,
 * nor its rows gone while it stays. The admin scope cannot see tenant rows, which is why the
 * transaction is not bound to one scope: each statement carries the scope it is run in.
 *
 * Before deleting, the shared tables are locked in SHARE mode: writes to them wait until the
 * delete commits (every tenant's, for that moment), so a row the tenant inserts concurrently is
 * either committed before the delete sees it, or arrives after the tenant's tokens are gone and is
 * refused by RLS. Nothing can be left behind.
 */
import { ident } from "../sql/security.js";
import { savepointDb, type Db } from "../core/db.js";
import type { Tenant } from "../core/types.js";
import type { RawClient } from "../extension/prisma-db.js";
import { runInScope, type TenantScope } from "../isolation/scope.js";

export interface EraseDeps {
  base: RawClient;
  adminScope: TenantScope;
  /** The tenant's own scope in the shared tables. */
  sharedScope(tenant: Tenant): TenantScope;
  /** Tenant tables, referenced (parents) first. */
  tables: ReadonlyArray<{ table: string; tenantColumn: string }>;
}

/** Deletes one tenant's rows in the shared tables (children first); per-table counts. */
export type EraseRows = (tenant: Tenant) => Promise<Record<string, number>>;

export type EraseTransaction = <T>(fn: (tx: Db, erase: EraseRows) => Promise<T>) => Promise<T>;

export function eraseTransaction(deps: EraseDeps): EraseTransaction {
  return (fn) =>
    runInScope(undefined, () =>
      Promise.resolve(
        deps.base.$transaction(
          async (raw) => {
            const inScope = (scope: TenantScope): Db =>
              savepointDb({
                query: <R>(sql: string, params: readonly unknown[] = []) => runInScope(scope, () => Promise.resolve(raw.$queryRawUnsafe<R[]>(sql, ...params))),
                execute: (sql, params = []) => runInScope(scope, () => Promise.resolve(raw.$executeRawUnsafe(sql, ...params))),
              });
            const admin = inScope(deps.adminScope);
            let locked = false;
            const erase: EraseRows = async (tenant) => {
              if (!locked && deps.tables.length > 0) {
                await admin.execute(`LOCK TABLE ${deps.tables.map((t) => `public.${ident(t.table)}`).join(", ")} IN SHARE MODE`);
                locked = true;
              }
              const own = inScope(deps.sharedScope(tenant));
              const counts: Record<string, number> = {};
              for (const t of [...deps.tables].reverse()) {
                counts[t.table] = await own.execute(`DELETE FROM public.${ident(t.table)} WHERE ${ident(t.tenantColumn)} = $1::uuid`, [tenant.id]);
              }
              return counts;
            };
            return fn(admin, erase);
          },
          // Dropping a tenant's database can take a while on a busy server.
          { maxWait: 10_000, timeout: 120_000 },
        ),
      ),
    );
}
