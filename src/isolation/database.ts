/**
 * DATABASE: one database per tenant, on the server the placement policy picks (placement.ts:
 * a named server, a tag, the first or the least loaded). The tenant database holds the tenant tables with the same RLS, the scope machinery, a copy
 * of the scope key and the tenant's tokens, so a signed scope means the same thing there as
 * everywhere else.
 */
import { ident } from "../sql/security.js";
import { StratumError } from "../core/errors.js";
import { copyScopeKeys, tenantDatabaseBaseDdl, tenantEnumsDdl, tenantSecurityDdl, tenantTablesDdl } from "./ddl.js";
import { homeDatabaseName, SHARED_SEARCH_PATH } from "./names.js";
import { chooseServer } from "./placement.js";
import type { IsolationStrategy } from "./strategy.js";

export function databaseStrategy(searchPath = SHARED_SEARCH_PATH): IsolationStrategy {
  return {
    name: "DATABASE",
    scope(tenant, request, sign) {
      if (!tenant.placement) {
        throw new StratumError("PLACEMENT_UNKNOWN", `Tenant ${tenant.id} uses DATABASE isolation but has no placement.`);
      }
      return {
        tenantId: tenant.id,
        mode: request.mode,
        strategy: "DATABASE",
        token: sign(tenant.id, request.mode),
        searchPath,
        readOnly: request.readOnly,
        placement: tenant.placement,
      };
    },
    async provision(tenant, ctx) {
      const server = await chooseServer(ctx.admin, ctx.server);
      const database = homeDatabaseName(tenant.id);
      const placement = `${server}/${database}`;
      const maintenance = await ctx.admin.server(server);
      try {
        // Refused up front; from here on, every clean-up below drops only the database this call created.
        const { rows } = await maintenance.query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", [database]);
        if (rows.length > 0) {
          throw new StratumError(
            "CONFLICT",
            `Database ${placement}, the home of tenant ${tenant.id}, already exists; inspect it and drop it by hand if it is a leftover, then retry.`,
            {
              tenantId: tenant.id,
              home: placement,
            },
          );
        }
        await maintenance.query(`CREATE DATABASE ${ident(database)}`);
      } finally {
        await maintenance.end();
      }
      let source: import("pg").Client | undefined;
      let target: import("pg").Client | undefined;
      try {
        source = await ctx.admin.main();
        target = await ctx.admin.database(placement);
        await source.query("BEGIN");
        const tables = await tenantTablesDdl(source, ctx.tenantTables, "public");
        const enums = await tenantEnumsDdl(source, ctx.tenantTables);
        await source.query("COMMIT");
        await target.query("BEGIN");
        for (const sql of [
          ...tenantDatabaseBaseDdl(ctx.appRole),
          ...enums,
          ...tables,
          ...tenantSecurityDdl(ctx.tenantTables, "public", ctx.appRole, false, tenant.id),
        ]) {
          await target.query(sql);
        }
        await copyScopeKeys(source, target, tenant.id);
        await target.query("COMMIT");
        return placement;
      } catch (error) {
        await target?.query("ROLLBACK").catch(() => undefined);
        await target?.end().catch(() => undefined);
        // This call created the database (the up-front check refused an existing one): drop it.
        await dropDatabase(ctx.admin, server, database).catch(() => undefined);
        throw error instanceof StratumError
          ? error
          : new StratumError("ISOLATION_MOVE_FAILED", `Could not create database ${placement}: ${(error as Error).message}`, undefined, { cause: error });
      } finally {
        await source?.end().catch(() => undefined);
        await target?.end().catch(() => undefined);
      }
    },
    async deprovision(tenant, ctx) {
      if (!tenant.placement) return;
      const [server, database] = tenant.placement.split("/") as [string, string];
      await dropDatabase(ctx.admin, server, database);
    },
  };
}

async function dropDatabase(admin: { server(name: string): Promise<import("pg").Client> }, server: string, database: string): Promise<void> {
  const client = await admin.server(server);
  try {
    await client.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
