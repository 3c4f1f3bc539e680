/**
 * API keys for the control plane. A key is `sk_<live|test>_<32 random base64url chars>` (192
 * bits), shown once at creation; only its SHA-256 is stored. A slow password hash would buy
 * nothing here: the keys are random, not chosen by people, so a leaked hash cannot be guessed back.
 *
 * A key with a `tenant_id` acts only on that tenant's subtree (the server enforces it); a key
 * without one is unrestricted. Creation and revocation are audited under the key's tenant.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink } from "../core/ports.js";
import { validate } from "../core/validate.js";
import { apiKeyLifecycle } from "./lifecycle.js";
import { API_KEY_SCOPES } from "./scopes.js";
import { subtreeIdRowsSql } from "../core/subtree.js";

export interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  /** The subtree the key is limited to; null for an unrestricted key. */
  tenant_id: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  /** Refused from this time on: the key's expiry, or the end of a rotation's grace period. */
  expires_at: Date | null;
  /** Requests per minute for this key when the control plane rate-limits; null: the server's rule. */
  rate_limit: number | null;
}

export interface CreatedApiKey extends ApiKey {
  /** The plaintext key: returned here once, never stored, never shown again. */
  key: string;
}

export interface CreateApiKeyInput {
  name: string;
  scopes: string[];
  tenant_id?: string | null;
  /** The key's prefix, `sk_live_` (default) or `sk_test_`: a label for humans and secret scanners. */
  environment?: "live" | "test";
  /** When the key stops working (ISO string or Date); none when omitted. */
  expires_at?: string | Date | null;
  /** Requests per minute for this key (needs the control plane's rate limiting). */
  rate_limit?: number | null;
}

export interface RotateApiKeyOptions {
  /** How long the old key keeps working, in seconds; default 3600, at most 30 days; 0 ends it now. */
  graceSeconds?: number;
  /** The new key's prefix (the old one's is not stored); default "live". */
  environment?: "live" | "test";
}

export interface RotatedApiKey {
  /** The new key, with its plaintext, shown once. */
  key: CreatedApiKey;
  /** The old key, still valid until its `expires_at` (now + the grace period). */
  previous: ApiKey;
}

export interface ListApiKeysInput {
  /** Keys of this tenant only; with `subtree`, also of its descendants. */
  tenant_id?: string;
  subtree?: boolean;
  include_revoked?: boolean;
}

export interface ApiKeyService {
  createApiKey(input: CreateApiKeyInput): Promise<CreatedApiKey>;
  listApiKeys(input?: ListApiKeysInput): Promise<ApiKey[]>;
  getApiKey(id: string): Promise<ApiKey>;
  revokeApiKey(id: string): Promise<ApiKey>;
  /** The live key `plaintext` names, or null (unknown, malformed, revoked or expired). */
  verifyApiKey(plaintext: string): Promise<ApiKey | null>;
  /** A new key with the same name, scopes, tenant, expiry and rate limit; the old one works `graceSeconds` more. */
  rotateApiKey(id: string, options?: RotateApiKeyOptions): Promise<RotatedApiKey>;
  /** Live keys unused (or, never used, created) more than `days` days ago, oldest use first. */
  listDormantApiKeys(options?: { days?: number; tenant_id?: string }): Promise<ApiKey[]>;
}

export const API_KEY_PATTERN = /^sk_(live|test)_[A-Za-z0-9_-]{16,128}$/;

const CreateInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
    tenant_id: z.uuid().nullish(),
    environment: z.enum(["live", "test"]).default("live"),
    expires_at: z.coerce.date().nullish(),
    rate_limit: z.number().int().min(1).max(1_000_000).nullish(),
  })
  .strict();

const ListInput = z.object({ tenant_id: z.uuid().optional(), subtree: z.boolean().default(false), include_revoked: z.boolean().default(false) }).strict();

const COLUMNS = "id::text, name, scopes, tenant_id::text, created_at, last_used_at, revoked_at, expires_at, rate_limit";
/** Not revoked and not past its expiry, by the database's clock. */
const LIVE = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())";

/** last_used_at is refreshed at most this often per key: a write on every request would be waste. */
const TOUCH_AFTER_MS = 60_000;

export function hashApiKey(plaintext: string): string {
  return createHash("sha256").update(plaintext, "utf8").digest("hex");
}

export function createApiKeyService(db: Db, deps: { audit: AuditSink }): ApiKeyService {
  async function mustFind(tx: Db, id: string): Promise<ApiKey> {
    validate(z.uuid(), id, "API key id");
    const rows = await tx.query<ApiKey>(`SELECT ${COLUMNS} FROM public.stratum_api_keys WHERE id = $1::uuid`, [id]);
    if (!rows[0]) throw new StratumError("NOT_FOUND", `API key ${id} does not exist.`, { apiKeyId: id });
    return rows[0];
  }

  async function createApiKey(input: CreateApiKeyInput): Promise<CreatedApiKey> {
    const data = validate(CreateInput, input, "API key");
    const key = `sk_${data.environment}_${randomBytes(24).toString("base64url")}`;
    const scopes = [...new Set(data.scopes)];
    return db.transaction(async (tx) => {
      if (data.tenant_id) {
        const found = await tx.query(`SELECT 1 FROM public.stratum_tenants WHERE id = $1::uuid`, [data.tenant_id]);
        if (!found.length) throw new StratumError("TENANT_NOT_FOUND", `Tenant ${data.tenant_id} does not exist.`, { tenantId: data.tenant_id });
      }
      if (data.expires_at && data.expires_at.getTime() <= Date.now()) {
        throw new StratumError("VALIDATION_FAILED", "expires_at is in the past: give a future time, or none for a key that does not expire.", {
          field: "expires_at",
        });
      }
      const rows = await tx.query<ApiKey>(
        `INSERT INTO public.stratum_api_keys (id, name, key_hash, scopes, tenant_id, expires_at, rate_limit)
         VALUES (gen_random_uuid(), $1, $2, $3::text[], $4::uuid, $5::timestamptz, $6::int) RETURNING ${COLUMNS}`,
        [data.name, hashApiKey(key), scopes, data.tenant_id ?? null, data.expires_at ?? null, data.rate_limit ?? null],
      );
      const created = rows[0]!;
      await deps.audit.record(tx, {
        tenantId: created.tenant_id,
        action: "api_key.create",
        targetType: "api_key",
        targetId: created.id,
        after: { name: created.name, scopes: created.scopes, tenant_id: created.tenant_id, expires_at: created.expires_at, rate_limit: created.rate_limit },
      });
      return { ...created, key };
    });
  }

  async function listApiKeys(input: ListApiKeysInput = {}): Promise<ApiKey[]> {
    const f = validate(ListInput, input, "API key filters");
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.tenant_id) {
      params.push(f.tenant_id);
      where.push(f.subtree ? `tenant_id IN (${subtreeIdRowsSql("$1::uuid")})` : `tenant_id = $1::uuid`);
    }
    if (!f.include_revoked) where.push(LIVE);
    return db.query<ApiKey>(
      `SELECT ${COLUMNS} FROM public.stratum_api_keys ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at, id`,
      params,
    );
  }

  async function revokeApiKey(id: string): Promise<ApiKey> {
    return db.transaction(async (tx) => {
      const before = await mustFind(tx, id);
      if (before.revoked_at) return before;
      const rows = await tx.query<ApiKey>(`UPDATE public.stratum_api_keys SET revoked_at = now() WHERE id = $1::uuid RETURNING ${COLUMNS}`, [id]);
      const revoked = rows[0]!;
      await deps.audit.record(tx, {
        tenantId: revoked.tenant_id,
        action: "api_key.revoke",
        targetType: "api_key",
        targetId: revoked.id,
        before: { revoked_at: null },
        after: { revoked_at: revoked.revoked_at },
      });
      return revoked;
    });
  }

  async function verifyApiKey(plaintext: string): Promise<ApiKey | null> {
    if (typeof plaintext !== "string" || !API_KEY_PATTERN.test(plaintext)) return null;
    const hash = hashApiKey(plaintext);
    const rows = await db.query<ApiKey & { key_hash: string; live: boolean }>(
      `SELECT ${COLUMNS}, key_hash, (${LIVE}) AS live FROM public.stratum_api_keys WHERE key_hash = $1`,
      [hash],
    );
    const row = rows[0];
    // The index lookup already matched; the constant-time comparison guards against a lookup
    // that matched loosely (collation, a future change to the query) ever passing a wrong key.
    if (!row || !timingSafeEqual(Buffer.from(row.key_hash, "hex"), Buffer.from(hash, "hex")) || !row.live) return null;
    const { key_hash: _hash, live: _live, ...key } = row;
    if (!key.last_used_at || Date.now() - new Date(key.last_used_at).getTime() > TOUCH_AFTER_MS) {
      await db.execute(`UPDATE public.stratum_api_keys SET last_used_at = now() WHERE id = $1::uuid`, [key.id]);
    }
    return key;
  }

  const lifecycle = apiKeyLifecycle(db, deps.audit, { mustFind, columns: COLUMNS, live: LIVE });
  return { createApiKey, listApiKeys, getApiKey: (id) => mustFind(db, id), revokeApiKey, verifyApiKey, ...lifecycle };
}
