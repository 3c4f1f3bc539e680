/**
 * GDPR for a whole tenant.
 *
 * exportTenantData (Art. 20) streams one JSON document:
 *
 *     { "format": "stratum-prisma/tenant-export@1", "tenant_id", "exported_at",
 *       "tenant": { …the tenant row… },
 *       "stratum": { "config": [...], "permissions": [...], "consents": [...], "api_keys": [...],
 *                    "webhooks": [...], "deliveries": [...], "audit": [...] },
 *       "sources": { "<source name>": { "<table>": [...] } },
 *       "counts": { "stratum.config": 3, "<source>.<table>": 120, … } }
 *
 * chunk by chunk (one chunk per batch of rows), so a large tenant never sits in memory. Secrets
 * are left out (api key hashes, webhook secrets); sensitive config values are decrypted when a
 * cipher is given, else exported sealed.
 *
 * purgeTenant (Art. 17) suspends the tenant (the extension refuses its writes from then on),
 * deletes its rows in every source, then in one transaction deletes stratum's rows of it (config,
 * permissions, consents, api keys, webhooks and deliveries, isolation journal) and the tenant row,
 * and writes the tombstone: an audit row "gdpr.purge" holding only ids and counts. The tombstone is
 * recorded under the parent tenant (null for a root), so the ancestors that could see the purged
 * tenant's audit trail see the purge. Audit rows themselves are append-only and kept (they are
 * redacted when written). A tenant with children is refused: purge or move them first. A purge that
 * fails half-way is safe to run again.
 */
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink, ValueCipher } from "../core/ports.js";
import { validate } from "../core/validate.js";
import { createAuditService } from "../audit/service.js";
import { configCipherContext } from "../crypto/rotate.js";
import { jsonArray, toJsonText, type Row, type TenantDataSource } from "./source.js";

export interface ExportOptions {
  sources: readonly TenantDataSource[];
  /** Rows per chunk (default 500). */
  batchSize?: number;
  /** Decrypts sensitive config values into the export. */
  cipher?: ValueCipher;
}

export interface PurgeOptions {
  sources: readonly TenantDataSource[];
  /** Default: the audit service on the same Db. */
  audit?: AuditSink;
}

export interface PurgeResult {
  tenant_id: string;
  /** Rows deleted, keyed "<source>.<table>" and "stratum.<table>". */
  counts: Record<string, number>;
}

const tenantIdSchema = z.uuid();

/** stratum's own tables holding a tenant's rows: export name, SQL. `$1` is the tenant id. */
const STRATUM_EXPORTS: ReadonlyArray<[string, string]> = [
  ["config", `SELECT * FROM public.stratum_config WHERE tenant_id = $1 ORDER BY key`],
  ["permissions", `SELECT * FROM public.stratum_permissions WHERE tenant_id = $1 ORDER BY key`],
  ["consents", `SELECT * FROM public.stratum_consents WHERE tenant_id = $1 ORDER BY subject_id, created_at, id`],
  [
    "api_keys",
    `SELECT id, tenant_id, name, scopes, created_at, revoked_at, last_used_at FROM public.stratum_api_keys WHERE tenant_id = $1 ORDER BY created_at, id`,
  ],
  ["webhooks", `SELECT id, tenant_id, url, events, active, created_at FROM public.stratum_webhooks WHERE tenant_id = $1 ORDER BY created_at, id`],
  [
    "deliveries",
    `SELECT d.* FROM public.stratum_deliveries d JOIN public.stratum_webhooks w ON w.id = d.webhook_id WHERE w.tenant_id = $1 ORDER BY d.created_at, d.id`,
  ],
  ["audit", `SELECT * FROM public.stratum_audit WHERE tenant_id = $1 ORDER BY id`],
];

async function loadTenant(db: Db, tenantId: string): Promise<Row & { parent_id: string | null; isolation_strategy: string }> {
  const [tenant] = await db.query<Row & { parent_id: string | null; isolation_strategy: string }>(
    `SELECT id, parent_id, slug, name, path::text AS path, depth, status, isolation_strategy, placement, metadata,
            created_at, updated_at, archived_at
       FROM public.stratum_tenants WHERE id = $1`,
    [tenantId],
  );
  if (!tenant) throw new StratumError("TENANT_NOT_FOUND", `Tenant ${tenantId} does not exist.`, { tenantId });
  return tenant;
}

/** Pages one stratum query with LIMIT/OFFSET (small per tenant; every ORDER BY ends on a unique key). */
async function* pagedQuery(db: Db, sql: string, params: unknown[], batchSize: number): AsyncGenerator<Row[]> {
  for (let offset = 0; ; offset += batchSize) {
    const rows = await db.query<Row>(`${sql} LIMIT ${batchSize} OFFSET ${offset}`, params);
    if (rows.length > 0) yield rows;
    if (rows.length < batchSize) return;
  }
}

async function* decryptConfig(batches: AsyncIterable<Row[]>, cipher: ValueCipher | undefined): AsyncGenerator<Row[]> {
  for await (const batch of batches) {
    yield batch.map((row) => {
      const sealed = row["encrypted_value"];
      if (!cipher || typeof sealed !== "string") return row;
      // The config service seals JSON.stringify(value) bound to column "value" (see configCipherContext).
      const plain = cipher.decrypt(sealed, configCipherContext(String(row["tenant_id"]), String(row["id"])));
      const { encrypted_value: _sealed, ...rest } = row;
      return { ...rest, value: JSON.parse(plain) as unknown };
    });
  }
}

/** Art. 20: every row the tenant owns, as a stream of JSON text chunks forming one document. */
export async function* exportTenantData(db: Db, tenantId: string, options: ExportOptions): AsyncGenerator<string> {
  validate(tenantIdSchema, tenantId, "tenant id");
  const batchSize = options.batchSize ?? 500;
  const tenant = await loadTenant(db, tenantId);
  const counts: Record<string, number> = {};
  const count = (key: string) => (n: number) => {
    counts[key] = (counts[key] ?? 0) + n;
  };

  yield `{"format":"stratum-prisma/tenant-export@1","tenant_id":${JSON.stringify(tenantId)},"exported_at":${JSON.stringify(new Date().toISOString())},"tenant":${toJsonText(tenant)},"stratum":{`;
  let first = true;
  for (const [name, sql] of STRATUM_EXPORTS) {
    counts[`stratum.${name}`] = 0;
    yield `${first ? "" : ","}${JSON.stringify(name)}:`;
    first = false;
    const rows = pagedQuery(db, sql, [tenantId], batchSize);
    yield* jsonArray(name === "config" ? decryptConfig(rows, options.cipher) : rows, count(`stratum.${name}`));
  }
  yield `},"sources":{`;
  let firstSource = true;
  for (const source of options.sources) {
    yield `${firstSource ? "" : ","}${JSON.stringify(source.name)}:{`;
    firstSource = false;
    let firstTable = true;
    for (const table of await source.listTables()) {
      counts[`${source.name}.${table}`] = 0;
      yield `${firstTable ? "" : ","}${JSON.stringify(table)}:`;
      firstTable = false;
      yield* jsonArray(source.streamRows(table, batchSize), count(`${source.name}.${table}`));
    }
    yield "}";
  }
  yield `},"counts":${JSON.stringify(counts)}}`;
}

/** Art. 17: deletes everything of the tenant wherever it lives and leaves a tombstone audit row. */
export async function purgeTenant(db: Db, tenantId: string, options: PurgeOptions): Promise<PurgeResult> {
  validate(tenantIdSchema, tenantId, "tenant id");
  const audit = options.audit ?? createAuditService(db);
  const tenant = await loadTenant(db, tenantId);
  const [children] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.stratum_tenants WHERE parent_id = $1`, [tenantId]);
  if ((children?.n ?? 0) > 0) {
    throw new StratumError("TENANT_HAS_CHILDREN", `Tenant ${tenantId} has ${children!.n} child tenant(s); purge or move them first.`, {
      tenantId,
    });
  }
  // Freeze writes: the extension refuses suspended tenants' writes.
  await db.execute(`UPDATE public.stratum_tenants SET status = 'suspended', updated_at = now() WHERE id = $1 AND status = 'active'`, [tenantId]);

  const counts: Record<string, number> = {};
  for (const source of options.sources) {
    const deleted = await source.deleteAll();
    for (const [table, n] of Object.entries(deleted)) counts[`${source.name}.${table}`] = n;
  }

  await db.transaction(async (tx) => {
    await tx.query(`SELECT id FROM public.stratum_tenants WHERE id = $1 FOR UPDATE`, [tenantId]);
    const del = async (key: string, sql: string) => {
      counts[`stratum.${key}`] = await tx.execute(sql, [tenantId]);
    };
    await del("deliveries", `DELETE FROM public.stratum_deliveries d USING public.stratum_webhooks w WHERE w.id = d.webhook_id AND w.tenant_id = $1`);
    await del("webhooks", `DELETE FROM public.stratum_webhooks WHERE tenant_id = $1`);
    await del("api_keys", `DELETE FROM public.stratum_api_keys WHERE tenant_id = $1`);
    await del("consents", `DELETE FROM public.stratum_consents WHERE tenant_id = $1`);
    await del("permissions", `DELETE FROM public.stratum_permissions WHERE tenant_id = $1`);
    await del("config", `DELETE FROM public.stratum_config WHERE tenant_id = $1`);
    await del("isolation_moves", `DELETE FROM public.stratum_isolation_moves WHERE tenant_id = $1`);
    await del("tenants", `DELETE FROM public.stratum_tenants WHERE id = $1`);
    await audit.record(tx, {
      tenantId: tenant.parent_id,
      action: "gdpr.purge",
      targetType: "tenant",
      targetId: tenantId,
      after: {
        purged_tenant_id: tenantId,
        isolation_strategy: tenant.isolation_strategy,
        sources: options.sources.map((s) => s.name),
        counts,
      },
    });
  });
  return { tenant_id: tenantId, counts };
}
