/**
 * SCHEMA: one schema per tenant, named from its id (names.ts) and recorded in its placement,
 * holding the tenant tables. Statements run with `search_path` set to that schema between
 * pg_catalog and pg_temp, so tenant tables never fall back to `public`; Prisma's `"public".`
 * qualification of tenant tables is removed by the adapter.
 */
import { ident } from "../sql/security.js";
import { StratumError } from "../core/errors.js";
import { tenantSecurityDdl, tenantTablesDdl } from "./ddl.js";
import { homeSchemaName, schemaSearchPath } from "./names.js";
import type { IsolationStrategy, TenantRoute } from "./strategy.js";

const SLUG = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * The home of a SCHEMA tenant that has no placement recorded: tenants made before homes were
 * named from ids lived in a schema named by their slug. Only routing reads this; nothing creates
 * or drops a schema by a slug.
 */
export function legacySchemaName(tenant: Pick<TenantRoute, "slug">): string {
  // A slug shaped like an id-named home would route into another tenant's schema.
  if (!SLUG.test(tenant.slug) || tenant.slug === "public" || /^(pg_|stratum)/.test(tenant.slug) || /^t_[0-9a-f]{32}$/.test(tenant.slug)) {
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
      searchPath: schemaSearchPath(tenant.placement ?? legacySchemaName(tenant)),
      readOnly: request.readOnly,
      ...(unqualify ? { unqualify } : {}),
    }),
    async provision(tenant, ctx) {
      const schema = homeSchemaName(tenant.id);
      const client = await ctx.admin.main();
      try {
        // Refused up front, so nothing below (nor a caller's clean-up) ever acts on a schema that
        // was there before; CREATE SCHEMA would also fail, inside the transaction.
        const { rows } = await client.query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", [schema]);
        if (rows.length > 0) {
          throw new StratumError(
            "CONFLICT",
            `Schema ${schema}, the home of tenant ${tenant.id}, already exists; inspect it and drop it by hand if it is a leftover, then retry.`,
            {
              tenantId: tenant.id,
              home: schema,
            },
          );
        }
        await client.query("BEGIN");
        await client.query(`CREATE SCHEMA ${ident(schema)}`);
        for (const sql of await tenantTablesDdl(client, ctx.tenantTables, schema)) await client.query(sql);
        for (const sql of tenantSecurityDdl(ctx.tenantTables, schema, ctx.appRole, true, tenant.id)) await client.query(sql);
        await client.query("COMMIT");
        return schema;
      } catch (error) {
        // The schema was created in this transaction, so the rollback is the whole clean-up.
        await client.query("ROLLBACK").catch(() => undefined);
        if (error instanceof StratumError) throw error;
        throw new StratumError("ISOLATION_MOVE_FAILED", `Could not create schema ${schema}: ${(error as Error).message}`, undefined, { cause: error });
      } finally {
        await client.end();
      }
    },
    async deprovision(tenant, ctx) {
      // Only a recorded home is removed: a tenant without a placement has no home stratum made.
      if (!tenant.placement) return;
      const client = await ctx.admin.main();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${ident(tenant.placement)} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
