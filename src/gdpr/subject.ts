/**
 * GDPR for one data subject inside a tenant: the rows of the models whose metadata names a
 * `subjectField` (`/// @stratum.subject` in the schema), plus the subject's consents.
 *
 * The subject's id never reaches the audit log in clear: the tombstone "gdpr.subject_erase" holds
 * `sha256("<tenantId>:<subjectId>")` as its target id, and the counts.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { StratumModels } from "../core/models.js";
import type { AuditSink } from "../core/ports.js";
import { validate } from "../core/validate.js";
import { createAuditService } from "../audit/service.js";
import { jsonArray, type Row, type TenantDataSource } from "./source.js";

export interface SubjectTarget {
  /** Database table name. */
  table: string;
  /** Database column holding the subject id. */
  subjectColumn: string;
}

/** Targets from the generated metadata: every model with a `subjectField`. */
export function subjectTargetsFromModels(models: Pick<StratumModels, "models">): SubjectTarget[] {
  const out: SubjectTarget[] = [];
  for (const model of Object.values(models.models)) {
    if (!model.subjectField) continue;
    const column = model.fields.find((f) => f.name === model.subjectField)?.column ?? model.subjectField;
    out.push({ table: model.table, subjectColumn: column });
  }
  return out;
}

export interface SubjectOptions {
  sources: readonly TenantDataSource[];
  /** Tables holding subject rows; erasure deletes in reverse order (list parents first). */
  targets: readonly SubjectTarget[];
  batchSize?: number;
}

export interface EraseSubjectOptions extends SubjectOptions {
  /** Keep the consent history (proof of lawful processing) instead of deleting it. Default false. */
  keepConsents?: boolean;
  audit?: AuditSink;
}

const tenantIdSchema = z.uuid();
const subjectSchema = z.string().min(1).max(200);

export function subjectHash(tenantId: string, subjectId: string): string {
  return createHash("sha256").update(`${tenantId}:${subjectId}`, "utf8").digest("hex");
}

function requireSubjectSupport(source: TenantDataSource): Required<Pick<TenantDataSource, "streamSubjectRows" | "deleteSubjectRows">> {
  if (!source.streamSubjectRows || !source.deleteSubjectRows) {
    throw new StratumError("VALIDATION_FAILED", `Data source ${source.name} does not support subject-level export or erasure.`);
  }
  return { streamSubjectRows: source.streamSubjectRows.bind(source), deleteSubjectRows: source.deleteSubjectRows.bind(source) };
}

/** Art. 15/20 for one subject: `{ format, tenant_id, subject_id, consents, sources: { name: { table: [...] } }, counts }`. */
export async function* exportSubjectData(db: Db, tenantId: string, subjectId: string, options: SubjectOptions): AsyncGenerator<string> {
  validate(tenantIdSchema, tenantId, "tenant id");
  validate(subjectSchema, subjectId, "subject id");
  const batchSize = options.batchSize ?? 500;
  const counts: Record<string, number> = {};
  const consents = await db.query<Row>(`SELECT * FROM public.stratum_consents WHERE tenant_id = $1 AND subject_id = $2 ORDER BY created_at`, [
    tenantId,
    subjectId,
  ]);
  counts["stratum.consents"] = consents.length;
  yield `{"format":"stratum-prisma/subject-export@1","tenant_id":${JSON.stringify(tenantId)},"subject_id":${JSON.stringify(subjectId)},"exported_at":${JSON.stringify(new Date().toISOString())},"consents":`;
  yield* jsonArray([consents]);
  yield `,"sources":{`;
  let firstSource = true;
  for (const source of options.sources) {
    const s = requireSubjectSupport(source);
    const tables = new Set(await source.listTables());
    yield `${firstSource ? "" : ","}${JSON.stringify(source.name)}:{`;
    firstSource = false;
    let firstTable = true;
    for (const target of options.targets) {
      if (!tables.has(target.table)) continue;
      const key = `${source.name}.${target.table}`;
      counts[key] = 0;
      yield `${firstTable ? "" : ","}${JSON.stringify(target.table)}:`;
      firstTable = false;
      yield* jsonArray(s.streamSubjectRows(target.table, target.subjectColumn, subjectId, batchSize), (n) => {
        counts[key] = (counts[key] ?? 0) + n;
      });
    }
    yield "}";
  }
  yield `},"counts":${JSON.stringify(counts)}}`;
}

/** Art. 17 for one subject: deletes their rows in every source (and consents) and audits it. */
export async function eraseSubject(db: Db, tenantId: string, subjectId: string, options: EraseSubjectOptions): Promise<{ counts: Record<string, number> }> {
  validate(tenantIdSchema, tenantId, "tenant id");
  validate(subjectSchema, subjectId, "subject id");
  const audit = options.audit ?? createAuditService(db);
  const counts: Record<string, number> = {};
  for (const source of options.sources) {
    const s = requireSubjectSupport(source);
    const tables = new Set(await source.listTables());
    for (const target of [...options.targets].reverse()) {
      if (!tables.has(target.table)) continue;
      counts[`${source.name}.${target.table}`] = await s.deleteSubjectRows(target.table, target.subjectColumn, subjectId);
    }
  }
  await db.transaction(async (tx) => {
    if (!options.keepConsents) {
      counts["stratum.consents"] = await tx.execute(`DELETE FROM public.stratum_consents WHERE tenant_id = $1 AND subject_id = $2`, [tenantId, subjectId]);
    }
    await audit.record(tx, {
      tenantId,
      action: "gdpr.subject_erase",
      targetType: "subject",
      targetId: subjectHash(tenantId, subjectId),
      after: { counts, consents_kept: Boolean(options.keepConsents) },
    });
  });
  return { counts };
}
