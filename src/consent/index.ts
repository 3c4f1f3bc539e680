/**
 * Consent records per data subject and purpose. History is append-only: granting and withdrawing
 * both insert a row into stratum_consents, never update one. The current state of a purpose is its
 * latest row (DISTINCT ON); the full history is every row, oldest first.
 */
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink } from "../core/ports.js";
import { validate } from "../core/validate.js";

export interface ConsentRecord {
  id: string;
  tenant_id: string;
  subject_id: string;
  purpose: string;
  granted: boolean;
  source: string | null;
  created_at: Date;
}

export interface ConsentInput {
  subject_id: string;
  purpose: string;
  granted: boolean;
  /** Where the consent was given: "signup_form", "api", "support_call", … */
  source?: string | null;
}

export interface ConsentService {
  /** Appends one consent row (grant or withdrawal) and returns it. */
  record(tenantId: string, input: ConsentInput): Promise<ConsentRecord>;
  grant(tenantId: string, subjectId: string, purpose: string, source?: string): Promise<ConsentRecord>;
  withdraw(tenantId: string, subjectId: string, purpose: string, source?: string): Promise<ConsentRecord>;
  /** The latest record per purpose (granted or withdrawn), ordered by purpose. */
  current(tenantId: string, subjectId: string): Promise<ConsentRecord[]>;
  /** Every record, oldest first; one purpose or all. */
  history(tenantId: string, subjectId: string, purpose?: string): Promise<ConsentRecord[]>;
  /** True when the latest record for the purpose is a grant. */
  has(tenantId: string, subjectId: string, purpose: string): Promise<boolean>;
}

export interface ConsentServiceOptions {
  /** Writes a "consent.grant" / "consent.withdraw" audit row in the same transaction. */
  audit?: AuditSink;
}

const tenantIdSchema = z.uuid();
const subjectSchema = z.string().min(1).max(200);
const purposeSchema = z.string().regex(/^[a-z][a-z0-9_.:-]{0,99}$/, "lower-case purpose like marketing_email");
const inputSchema = z.object({
  subject_id: subjectSchema,
  purpose: purposeSchema,
  granted: z.boolean(),
  source: z.string().min(1).max(200).nullable().optional(),
});

const COLUMNS = `id, tenant_id, subject_id, purpose, granted, source, created_at`;

export function createConsentService(db: Db, options: ConsentServiceOptions = {}): ConsentService {
  const record = async (tenantId: string, input: ConsentInput): Promise<ConsentRecord> => {
    validate(tenantIdSchema, tenantId, "tenant id");
    const c = validate(inputSchema, input, "consent");
    try {
      return await db.transaction(async (tx) => {
        const [row] = await tx.query<ConsentRecord>(
          `INSERT INTO public.stratum_consents (id, tenant_id, subject_id, purpose, granted, source, created_at)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, clock_timestamp())
           RETURNING ${COLUMNS}`,
          [tenantId, c.subject_id, c.purpose, c.granted, c.source ?? null],
        );
        await options.audit?.record(tx, {
          tenantId,
          action: c.granted ? "consent.grant" : "consent.withdraw",
          targetType: "consent",
          targetId: row!.id,
          after: { subject_id: c.subject_id, purpose: c.purpose, granted: c.granted, source: c.source ?? null },
        });
        return row!;
      });
    } catch (error) {
      if ((error as { code?: string }).code === "23503") {
        throw new StratumError("TENANT_NOT_FOUND", `Tenant ${tenantId} does not exist.`, { tenantId });
      }
      throw error;
    }
  };

  const history = async (tenantId: string, subjectId: string, purpose?: string): Promise<ConsentRecord[]> => {
    validate(tenantIdSchema, tenantId, "tenant id");
    validate(subjectSchema, subjectId, "subject id");
    if (purpose !== undefined) validate(purposeSchema, purpose, "purpose");
    return db.query<ConsentRecord>(
      `SELECT ${COLUMNS} FROM public.stratum_consents
        WHERE tenant_id = $1 AND subject_id = $2 AND ($3::text IS NULL OR purpose = $3)
        ORDER BY created_at, purpose`,
      [tenantId, subjectId, purpose ?? null],
    );
  };

  const current = async (tenantId: string, subjectId: string): Promise<ConsentRecord[]> => {
    validate(tenantIdSchema, tenantId, "tenant id");
    validate(subjectSchema, subjectId, "subject id");
    return db.query<ConsentRecord>(
      `SELECT DISTINCT ON (purpose) ${COLUMNS} FROM public.stratum_consents
        WHERE tenant_id = $1 AND subject_id = $2
        ORDER BY purpose, created_at DESC`,
      [tenantId, subjectId],
    );
  };

  return {
    record,
    grant: (tenantId, subjectId, purpose, source) => record(tenantId, { subject_id: subjectId, purpose, granted: true, source: source ?? null }),
    withdraw: (tenantId, subjectId, purpose, source) => record(tenantId, { subject_id: subjectId, purpose, granted: false, source: source ?? null }),
    current,
    history,
    async has(tenantId, subjectId, purpose) {
      validate(purposeSchema, purpose, "purpose");
      return (await current(tenantId, subjectId)).some((c) => c.purpose === purpose && c.granted);
    },
  };
}
