/**
 * /ops: the operator's maintenance runs as routes — data retention, re-encryption under the
 * current encryption key, and bringing SCHEMA / DATABASE tenant homes level with the migrated main
 * database. Each has its own scope (`ops:retention`, `ops:keys`, `ops:migrate`), so a key can be
 * handed to the one job that needs it, and each needs a key without a tenant: they act on every
 * tenant. They run to completion in the request, like isolation moves; each is resumable, so a
 * client that timed out runs it again.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses, TenantId } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["operations"];
const Ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, "a plain SQL identifier");

const RetentionBody = z
  .object({
    policies: z
      .array(
        z
          .object({
            table: Ident,
            timestamp_column: Ident.describe("A timestamptz, timestamp or date column compared with now() - days."),
            days: z.number().positive().max(365_000),
            tenant_id: TenantId.optional().describe("Only this tenant (a tenant table: every tenant when omitted)."),
            batch_size: z.number().int().min(1).max(100_000).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(50),
  })
  .strict()
  .meta({ examples: [{ policies: [{ table: "tickets", timestamp_column: "created_at", days: 365 }] }] });
const RetentionAnswer = z
  .object({ results: z.array(z.object({ table: z.string(), tenant_id: z.string().nullable(), deleted: z.number().int() })) })
  .meta({ examples: [{ results: [{ table: "tickets", tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10", deleted: 12 }] }] });

const RotateBody = z
  .object({
    batch_size: z.number().int().min(1).max(100_000).optional().describe("Rows per transaction (default 500)."),
    tenant_ids: z.array(TenantId).max(1000).optional().describe("Only these tenants' encrypted fields; config values are always rotated."),
  })
  .strict()
  .meta({ examples: [{ batch_size: 500 }] });
const Failure = z.object({ table: z.string(), id: z.string(), column: z.string(), code: z.string() });
const RotateAnswer = z
  .object({
    version: z.number().int(),
    aborted: z.boolean(),
    rotated: z.number().int(),
    remaining: z.number().int().describe("Values still under an older key: run again."),
    failed: z.array(Failure),
    skipped_tenants: z.array(z.string()),
    targets: z.array(
      z.object({ tenant_id: z.string().nullable(), place: z.string(), table: z.string(), rotated: z.number().int(), remaining: z.number().int() }),
    ),
  })
  .meta({ examples: [{ version: 2, aborted: false, rotated: 40, remaining: 0, failed: [], skipped_tenants: [], targets: [] }] });

const MigrateBody = z
  .object({
    dry_run: z.boolean().optional().describe("Plan only: nothing is written."),
    tenant_ids: z.array(TenantId).max(10_000).optional(),
    concurrency: z.number().int().min(1).max(32).optional(),
    verify: z.boolean().optional().describe("Open and check every home, whatever its marker says."),
  })
  .strict()
  .meta({ examples: [{ dry_run: true }] });
const MigrateAnswer = z
  .object({
    ok: z.boolean(),
    dry_run: z.boolean(),
    summary: z.record(z.string(), z.number()),
    migration: z.string().nullable(),
    homes: z.array(
      z.object({
        tenant_id: z.string(),
        strategy: z.string(),
        placement: z.string(),
        status: z.string(),
        applied: z.array(z.string()),
        drift: z.array(z.string()),
        error: z.string().optional(),
      }),
    ),
  })
  .meta({ examples: [{ ok: true, dry_run: false, summary: { total: 2, migrated: 1, current: 1 }, migration: "20261206145910_roles", homes: [] }] });

export const operationRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  app.post(
    "/ops/retention",
    {
      schema: {
        tags,
        summary: "Delete rows older than a number of days, per policy",
        description:
          "Scope: ops:retention, on a key without a tenant. A tenant table is cleaned tenant by tenant in each tenant's home; audited gdpr.retention.",
        body: RetentionBody,
        response: { 200: RetentionAnswer, ...errorResponses },
      },
    },
    async (request) => {
      guard.unrestricted(request, "ops:retention", "running retention");
      const policies = request.body.policies.map((p) => ({
        table: p.table,
        timestampColumn: p.timestamp_column,
        days: p.days,
        ...(p.tenant_id ? { tenantId: p.tenant_id } : {}),
        ...(p.batch_size ? { batchSize: p.batch_size } : {}),
      }));
      const results = await stratum.runRetention(policies);
      return { results: results.map((r) => ({ table: r.table, tenant_id: r.tenantId ?? null, deleted: r.deleted })) };
    },
  );

  app.post(
    "/ops/encryption-key/rotate",
    {
      schema: {
        tags,
        summary: "Re-encrypt every sealed value under the current encryption key",
        description: "Scope: ops:keys, on a key without a tenant. Stateless and resumable: run again while remaining > 0. Audited crypto.rotate.",
        body: RotateBody,
        response: { 200: RotateAnswer, ...errorResponses },
      },
    },
    async (request) => {
      guard.unrestricted(request, "ops:keys", "rotating the encryption key");
      const { batch_size, tenant_ids } = request.body;
      const result = await stratum.rotateKeys({ ...(batch_size ? { batchSize: batch_size } : {}), ...(tenant_ids ? { tenantIds: tenant_ids } : {}) });
      return result;
    },
  );

  app.post(
    "/ops/tenant-homes/migrate",
    {
      schema: {
        tags,
        summary: "Bring SCHEMA and DATABASE tenant homes level with the main database",
        description: "Scope: ops:migrate, on a key without a tenant. dry_run plans without writing.",
        body: MigrateBody,
        response: { 200: MigrateAnswer, ...errorResponses },
      },
    },
    async (request) => {
      guard.unrestricted(request, "ops:migrate", "migrating tenant homes");
      const { dry_run, tenant_ids, concurrency, verify } = request.body;
      const report = await stratum.migrateTenantHomes({
        ...(dry_run !== undefined ? { dryRun: dry_run } : {}),
        ...(tenant_ids ? { tenantIds: tenant_ids } : {}),
        ...(concurrency ? { concurrency } : {}),
        ...(verify !== undefined ? { verify } : {}),
      });
      const { dryRun, ...rest } = report;
      return { ...rest, dry_run: dryRun };
    },
  );
};
