/**
 * A key's life after creation: rotation (a new key now, the old one kept working for a grace
 * period so deployments can switch over without an outage) and the dormant-keys report (live keys
 * nobody has used for a while: candidates for revocation).
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink } from "../core/ports.js";
import { validate } from "../core/validate.js";
import type { ApiKey, ApiKeyService, CreatedApiKey, RotateApiKeyOptions, RotatedApiKey } from "./service.js";
import { hashApiKey } from "./service.js";

interface Internals {
  mustFind(tx: Db, id: string): Promise<ApiKey>;
  columns: string;
  live: string;
}

/** Longest grace a rotation may give the old key: 30 days. */
export const MAX_ROTATION_GRACE_SECONDS = 30 * 24 * 3600;

// Only the hash is stored, so the old key's sk_live_/sk_test_ prefix is not known: say it again.
const RotateOptions = z
  .object({ graceSeconds: z.number().int().min(0).max(MAX_ROTATION_GRACE_SECONDS).default(3600), environment: z.enum(["live", "test"]).default("live") })
  .strict();
const DormantOptions = z.object({ days: z.number().int().min(1).max(3650).default(30), tenant_id: z.uuid().optional() }).strict();

export function apiKeyLifecycle(db: Db, audit: AuditSink, internals: Internals): Pick<ApiKeyService, "rotateApiKey" | "listDormantApiKeys"> {
  const { columns, live } = internals;

  async function rotateApiKey(id: string, options: RotateApiKeyOptions = {}): Promise<RotatedApiKey> {
    const { graceSeconds, environment } = validate(RotateOptions, options, "rotation");
    return db.transaction(async (tx) => {
      const old = await internals.mustFind(tx, id);
      const alive = await tx.query<{ live: boolean }>(`SELECT (${live}) AS live FROM public.stratum_api_keys WHERE id = $1::uuid FOR UPDATE`, [id]);
      if (!alive[0]?.live)
        throw new StratumError("CONFLICT", `API key ${id} is revoked or expired; create a new key instead of rotating it.`, { apiKeyId: id });
      const plaintext = `sk_${environment}_${randomBytes(24).toString("base64url")}`;
      const created = (
        await tx.query<ApiKey>(
          `INSERT INTO public.stratum_api_keys (id, name, key_hash, scopes, tenant_id, expires_at, rate_limit)
           SELECT gen_random_uuid(), name, $2, scopes, tenant_id, expires_at, rate_limit FROM public.stratum_api_keys WHERE id = $1::uuid
           RETURNING ${columns}`,
          [id, hashApiKey(plaintext)],
        )
      )[0]!;
      const previous = (
        await tx.query<ApiKey>(
          `UPDATE public.stratum_api_keys
              SET expires_at = LEAST(coalesce(expires_at, 'infinity'::timestamptz), now() + make_interval(secs => $2::int))
            WHERE id = $1::uuid RETURNING ${columns}`,
          [id, graceSeconds],
        )
      )[0]!;
      await audit.record(tx, {
        tenantId: old.tenant_id,
        action: "api_key.rotate",
        targetType: "api_key",
        targetId: id,
        before: { expires_at: old.expires_at },
        after: { expires_at: previous.expires_at, replaced_by: created.id },
      });
      const key: CreatedApiKey = { ...created, key: plaintext };
      return { key, previous };
    });
  }

  async function listDormantApiKeys(options: { days?: number; tenant_id?: string } = {}): Promise<ApiKey[]> {
    const f = validate(DormantOptions, options, "dormant-key filters");
    return db.query<ApiKey>(
      `SELECT ${columns} FROM public.stratum_api_keys
        WHERE ${live} AND coalesce(last_used_at, created_at) < now() - make_interval(days => $1::int)
          AND ($2::uuid IS NULL OR tenant_id = $2::uuid)
        ORDER BY coalesce(last_used_at, created_at), id`,
      [f.days, f.tenant_id ?? null],
    );
  }

  return { rotateApiKey, listDormantApiKeys };
}
