/**
 * SCHEMA: one schema per tenant, named by its validated slug, holding the tenant tables.
 * Statements run with `search_path` set to that schema alone, so tenant tables never fall back
 * to `public`; Prisma's `"public".` qualification of tenant tables is removed by the adapter.
 */
import { ident } from "../../generators/sql/security.js";
import { StratumError } from "../core/errors.js";
import { tenantSecurityDdl, tenantTablesDdl } from "./ddl.js";
import type { IsolationStrategy, TenantRoute } from "./strategy.js";

const SLUG = /^[a-z][a-z0-9_]{0,62}$/;

export function schemaName(tenant: Pick<TenantRoute, "slug">): string {
  if (!SLUG.test(tenant.slug) || tenant.slug === "public" || /^(pg_|stratum)/.test(tenant.slug)) {
    throw new StratumError("INVALID_SLUG", `Slug ${JSON.stringify(tenant.slug)} cannot name a schema.`);
  }
  return tenant.slug;
}

export function schemaStrategy(tenantTables: readonly string[]): IsolationStrategy {
  const unqualify = tenantTables.length
    ? new RegExp(`"public"\\.("(?:${tenantTables.map((t) => t.replace(/[^A-Za-z0-9_]/g, "")).join("|")})")`, "g")
    : undefined;
  return {
    name: "SCHEMA",
    scope: (tenant, request, sign) => ({
      tenantId: tenant.id,
      mode: request.mode,
      strategy: "SCHEMA",
      token: sign(tenant.id, request.mode),
      searchPath: ident(tenant.placement ?? schemaName(tenant)),
      readOnly: request.readOnly,
      ...(unqualify ? { unqualify } : {}),
    }),
    async provision(tenant, ctx) {
      const schema = schemaName(tenant);
      const client = await ctx.admin.main();
      try {
        await client.query("BEGIN");
        await client.query(`CREATE SCHEMA ${ident(schema)}`);
        for (const sql of await tenantTablesDdl(client, ctx.tenantTables, schema)) await client.query(sql);
        for (const sql of tenantSecurityDdl(ctx.tenantTables, schema, ctx.appRole, true)) await client.query(sql);
        await client.query("COMMIT");
        return schema;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new StratumError("ISOLATION_MOVE_FAILED", `Could not create schema ${schema}: ${(error as Error).message}`, undefined, { cause: error });
      } finally {
        await client.end();
      }
    },
    async deprovision(tenant, ctx) {
      const schema = tenant.placement ?? schemaName(tenant);
      const client = await ctx.admin.main();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
