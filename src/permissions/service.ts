/**
 * Permission delegation. See docs/permissions.md for the semantics, which this file implements:
 *
 * Resolution for tenant T and key k over the live chain (root → T, archived ancestors dropped):
 *   1. a PERMANENT tombstone for k anywhere on the chain → k is absent;
 *   2. else the highest LOCKED grant wins;
 *   3. else the nearest grant wins.
 * Writes at T for k (create / update):
 *   - refused (PERMISSION_REVOKED) under a tombstone at T or an ancestor;
 *   - refused (PERMISSION_LOCKED) under an ancestor's LOCKED grant;
 *   - under an ancestor's INHERITED grant: an override, value only, mode must stay INHERITED
 *     (else PERMISSION_NOT_DELEGATED);
 *   - under an ancestor's DELEGATED grant: a re-grant with any mode, recording delegated_from;
 *   - with no grant above: a fresh grant, any mode.
 * Revocation of T's grant: CASCADE deletes it and every live grant of k in T's subtree; SOFT
 * deletes T's grant only; PERMANENT deletes like CASCADE and leaves a tombstone at T.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { preparedAs, type Db } from "../core/db.js";
import type { AuditSink, ChangeBus, ChangeEvent } from "../core/ports.js";
import { StratumError } from "../core/errors.js";
import { subtreeSql } from "../core/subtree.js";
import { validate } from "../core/validate.js";
import { ResolveCache, type ResolveCacheOptions } from "../config/cache.js";
import { CHAIN_CTES, KeySchema, assertTenantId, lockTenant, resolveThroughCache, tenantNotFound, type TenantRow } from "../config/tree.js";
import type { JsonValue } from "../config/types.js";

export const PermissionModes = ["LOCKED", "INHERITED", "DELEGATED"] as const;
export type PermissionMode = (typeof PermissionModes)[number];
export const RevocationModes = ["CASCADE", "SOFT", "PERMANENT"] as const;
export type RevocationMode = (typeof RevocationModes)[number];

export interface CreatePermissionInput {
  key: string;
  value: JsonValue;
  mode: PermissionMode;
  /** What revokePermission does with this grant. Default CASCADE. */
  revocation_mode?: RevocationMode;
}

export interface UpdatePermissionInput {
  value?: JsonValue;
  mode?: PermissionMode;
  revocation_mode?: RevocationMode;
}

/** A tenant's own grant row. */
export interface Permission {
  id: string;
  tenant_id: string;
  key: string;
  value: JsonValue;
  mode: PermissionMode;
  revocation_mode: RevocationMode;
  revoked_at: Date | null;
  delegated_from: string | null;
  created_at: Date;
  updated_at: Date;
}

/** One resolved key, as the seeds show it. */
export interface ResolvedPermission {
  key: string;
  value: JsonValue;
  mode: PermissionMode;
  source_tenant_id: string;
  /** The winning grant is LOCKED: nobody below its source can change it. */
  locked: boolean;
  /** The winning grant is DELEGATED (holders may re-grant it) or is itself a re-grant. */
  delegated: boolean;
}

export type ResolvedPermissions = Record<string, ResolvedPermission>;

export interface RevokeResult {
  key: string;
  revocation_mode: RevocationMode;
  /** Grants removed: the tenant's own plus, for CASCADE and PERMANENT, its subtree's. */
  removed: number;
  /** PERMANENT only: the tombstone left at the tenant. */
  tombstone: boolean;
}

export interface PermissionServiceDeps {
  audit: AuditSink;
  bus?: ChangeBus;
  /** As for config: a shared ResolveCache, options, true (local only) or false; default: on with a bus. */
  cache?: ResolveCache | ResolveCacheOptions | boolean;
}

export interface PermissionService {
  createPermission(tenantId: string, input: CreatePermissionInput): Promise<Permission>;
  updatePermission(tenantId: string, key: string, input: UpdatePermissionInput): Promise<Permission>;
  revokePermission(tenantId: string, key: string): Promise<RevokeResult>;
  /** The tenant's own grants (tombstones included, with revoked_at set). */
  listPermissions(tenantId: string): Promise<Permission[]>;
  resolvePermissions(tenantId: string): Promise<ResolvedPermissions>;
  resolvePermission(tenantId: string, key: string): Promise<ResolvedPermission | null>;
  readonly cache: ResolveCache | null;
  close(): void;
}

const KEY = KeySchema;
const CREATE = z.object({
  key: KEY,
  value: z.json(),
  mode: z.enum(PermissionModes),
  revocation_mode: z.enum(RevocationModes).default("CASCADE"),
});
const UPDATE = z
  .object({ value: z.json().optional(), mode: z.enum(PermissionModes).optional(), revocation_mode: z.enum(RevocationModes).optional() })
  .refine((v) => v.value !== undefined || v.mode !== undefined || v.revocation_mode !== undefined, "nothing to update");

const COLUMNS = `id::text, tenant_id::text, key, value, mode, revocation_mode, revoked_at, delegated_from::text, created_at, updated_at`;

const P_COLUMNS = COLUMNS.split(", ")
  .map((c) => `p.${c}`)
  .join(", ");

/** A CASCADE or PERMANENT revocation at `$1` of key `$2`: the live grants of every descendant. */
export const REVOKE_BELOW_SQL = `DELETE FROM public.stratum_permissions p USING ${subtreeSql("$1::uuid")} sub
 WHERE p.tenant_id = ANY(sub.ids) AND p.tenant_id <> $1::uuid AND p.key = $2 AND p.revoked_at IS NULL`;

/** One statement: chain from the ltree path, grants and tombstones on it, one winner per key.
 * The chain comes back as JSON: JSON.parse costs less Node CPU than pg's text[] parser. */
export const RESOLVE_PERMISSIONS_SQL = `
WITH ${CHAIN_CTES},
win AS (
  SELECT DISTINCT ON (p.key) p.key, p.value, p.mode, p.tenant_id, p.delegated_from, p.revoked_at
    FROM live l
   CROSS JOIN LATERAL (SELECT * FROM public.stratum_permissions x WHERE x.tenant_id = l.id OFFSET 0) p -- index probe per ancestor
   ORDER BY p.key, (p.revoked_at IS NOT NULL) DESC, (p.mode = 'LOCKED') DESC,
            CASE WHEN p.mode = 'LOCKED' THEN l.depth ELSE -l.depth END
)
SELECT (SELECT json_agg(chain.id ORDER BY chain.depth) FROM chain) AS chain,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'key', w.key, 'value', w.value, 'mode', w.mode, 'source_tenant_id', w.tenant_id,
                 'locked', w.mode = 'LOCKED', 'delegated', w.mode = 'DELEGATED' OR w.delegated_from IS NOT NULL)
               ORDER BY w.key), '[]'::jsonb)
          FROM win w WHERE w.revoked_at IS NULL) AS entries`;

interface ChainGrant extends Permission {
  depth: number;
  slug: string;
  is_self: boolean;
}

export function createPermissionService(db: Db, deps: PermissionServiceDeps): PermissionService {
  const cache = makeCache(deps.cache, deps.bus);
  const detach = cache && deps.bus ? cache.attach(deps.bus) : null;
  // Prepared once per connection: at depth 20 planning the resolve cost more than running it.
  const resolveDb = preparedAs(db, RESOLVE_PERMISSIONS_SQL, "stratum_resolve_permissions");

  async function mutate<R>(tenantId: string, fn: (tx: Db, tenant: TenantRow) => Promise<R>): Promise<R> {
    assertTenantId(tenantId);
    const event: ChangeEvent = { kind: "permission", tenantId, subtree: true };
    const result = await db.transaction(async (tx) => {
      const tenant = await lockTenant(tx, tenantId);
      const out = await fn(tx, tenant);
      await deps.bus?.publish(tx, event);
      return out;
    });
    cache?.invalidate(event);
    return result;
  }

  /** The grants and tombstones of `key` on the tenant's live chain, root first. */
  async function chainGrants(tx: Db, tenant: TenantRow, key: string): Promise<ChainGrant[]> {
    return tx.query<ChainGrant>(
      `SELECT ${P_COLUMNS}, t.depth, t.slug,
              (p.tenant_id = $1::uuid) AS is_self
         FROM public.stratum_permissions p JOIN public.stratum_tenants t ON t.id = p.tenant_id
        WHERE p.key = $2 AND (p.tenant_id = $1::uuid OR (p.tenant_id = ANY($3::uuid[]) AND t.status <> 'archived'))
        ORDER BY t.depth`,
      [tenant.id, key, tenant.ancestors],
    );
  }

  /**
   * Checks a write of `mode` for `key` at `tenant`; returns delegated_from for the new row.
   */
  function checkWrite(tenant: TenantRow, key: string, mode: PermissionMode, grants: ChainGrant[]): string | null {
    const tomb = grants.find((g) => g.revoked_at !== null);
    if (tomb) {
      throw new StratumError(
        "PERMISSION_REVOKED",
        `Permission "${key}" was permanently revoked at tenant ${tomb.slug} (${tomb.tenant_id}); it cannot be granted again in that subtree.`,
        { key, tenantId: tenant.id, revokedAt: tomb.tenant_id },
      );
    }
    const above = grants.filter((g) => !g.is_self);
    const lockedAbove = above.find((g) => g.mode === "LOCKED");
    if (lockedAbove) {
      throw new StratumError(
        "PERMISSION_LOCKED",
        `Permission "${key}" is LOCKED by ancestor tenant ${lockedAbove.slug} (${lockedAbove.tenant_id}); descendants cannot change it. Change or revoke it on ${lockedAbove.slug}.`,
        { key, tenantId: tenant.id, lockedBy: lockedAbove.tenant_id },
      );
    }
    const nearest = above[above.length - 1];
    if (!nearest) return null;
    if (nearest.mode === "DELEGATED") return nearest.tenant_id;
    if (mode !== "INHERITED") {
      throw new StratumError(
        "PERMISSION_NOT_DELEGATED",
        `Permission "${key}" is INHERITED from tenant ${nearest.slug} (${nearest.tenant_id}): this tenant may override its value (mode INHERITED) but not ${mode === "LOCKED" ? "lock" : "delegate"} it. Ask ${nearest.slug} to grant it as DELEGATED.`,
        { key, tenantId: tenant.id, grantedBy: nearest.tenant_id },
      );
    }
    return null;
  }

  function resolveRaw(tenantId: string): Promise<ResolvedPermissions> {
    return resolveThroughCache<ResolvedPermission, ResolvedPermissions>(
      resolveDb,
      cache,
      `permissions:${tenantId}`,
      RESOLVE_PERMISSIONS_SQL,
      tenantId,
      (entries) => {
        const out: ResolvedPermissions = {};
        for (const entry of entries) out[entry.key] = Object.freeze(entry) as ResolvedPermission;
        return out;
      },
    );
  }

  return {
    cache,
    close() {
      detach?.();
    },

    async createPermission(tenantId, input) {
      const parsed = validate(CREATE, input, "permission");
      return mutate(tenantId, async (tx, tenant) => {
        const grants = await chainGrants(tx, tenant, parsed.key);
        const own = grants.find((g) => g.is_self && g.revoked_at === null);
        if (own) {
          throw new StratumError("CONFLICT", `Tenant ${tenant.slug} already grants "${parsed.key}"; use updatePermission to change it.`, {
            key: parsed.key,
            tenantId,
          });
        }
        const delegatedFrom = checkWrite(tenant, parsed.key, parsed.mode, grants);
        const rows = await tx.query<Permission>(
          `INSERT INTO public.stratum_permissions (id, tenant_id, key, value, mode, revocation_mode, delegated_from)
           VALUES ($1::uuid, $2::uuid, $3, $4::jsonb, $5, $6, $7::uuid) RETURNING ${COLUMNS}`,
          [randomUUID(), tenant.id, parsed.key, JSON.stringify(parsed.value), parsed.mode, parsed.revocation_mode, delegatedFrom],
        );
        const row = rows[0]!;
        await deps.audit.record(tx, {
          tenantId: tenant.id,
          action: "permission.create",
          targetType: "permission",
          targetId: parsed.key,
          after: auditView(row),
        });
        return row;
      });
    },

    async updatePermission(tenantId, key, input) {
      validate(KEY, key, "permission key");
      const parsed = validate(UPDATE, input, "permission update");
      return mutate(tenantId, async (tx, tenant) => {
        const grants = await chainGrants(tx, tenant, key);
        const own = grants.find((g) => g.is_self);
        if (!own) {
          throw new StratumError("PERMISSION_NOT_FOUND", `Tenant ${tenant.slug} has no own grant of "${key}"; create it first.`, {
            key,
            tenantId,
          });
        }
        const mode = parsed.mode ?? own.mode;
        const delegatedFrom = checkWrite(tenant, key, mode, grants);
        const rows = await tx.query<Permission>(
          `UPDATE public.stratum_permissions
              SET value = coalesce($3::jsonb, value), mode = $4, revocation_mode = coalesce($5, revocation_mode),
                  delegated_from = $6::uuid, updated_at = now()
            WHERE tenant_id = $1::uuid AND key = $2 RETURNING ${COLUMNS}`,
          [tenant.id, key, parsed.value === undefined ? null : JSON.stringify(parsed.value), mode, parsed.revocation_mode ?? null, delegatedFrom],
        );
        const row = rows[0]!;
        await deps.audit.record(tx, {
          tenantId: tenant.id,
          action: "permission.update",
          targetType: "permission",
          targetId: key,
          before: auditView(own),
          after: auditView(row),
        });
        return row;
      });
    },

    async revokePermission(tenantId, key) {
      validate(KEY, key, "permission key");
      return mutate(tenantId, async (tx, tenant) => {
        const own = (
          await tx.query<Permission>(`SELECT ${COLUMNS} FROM public.stratum_permissions WHERE tenant_id = $1::uuid AND key = $2 FOR UPDATE`, [tenant.id, key])
        )[0];
        if (!own) {
          throw new StratumError(
            "PERMISSION_NOT_FOUND",
            `Tenant ${tenant.slug} has no own grant of "${key}"; an inherited permission is revoked where it is granted.`,
            { key, tenantId },
          );
        }
        if (own.revoked_at !== null) {
          throw new StratumError("PERMISSION_REVOKED", `Permission "${key}" is already permanently revoked at tenant ${tenant.slug}.`, {
            key,
            tenantId,
          });
        }
        let removed = 0;
        switch (own.revocation_mode) {
          case "SOFT":
            removed = await tx.execute(`DELETE FROM public.stratum_permissions WHERE id = $1::uuid`, [own.id]);
            break;
          case "CASCADE":
            removed =
              (await tx.execute(REVOKE_BELOW_SQL, [tenant.id, key])) +
              (await tx.execute(`DELETE FROM public.stratum_permissions WHERE id = $1::uuid`, [own.id]));
            break;
          case "PERMANENT":
            removed = (await tx.execute(REVOKE_BELOW_SQL, [tenant.id, key])) + 1;
            await tx.execute(`UPDATE public.stratum_permissions SET revoked_at = now(), updated_at = now() WHERE id = $1::uuid`, [own.id]);
            break;
        }
        await deps.audit.record(tx, {
          tenantId: tenant.id,
          action: "permission.revoke",
          targetType: "permission",
          targetId: key,
          before: auditView(own),
          after: { revocation_mode: own.revocation_mode, removed },
        });
        return { key, revocation_mode: own.revocation_mode, removed, tombstone: own.revocation_mode === "PERMANENT" };
      });
    },

    async listPermissions(tenantId) {
      assertTenantId(tenantId);
      const rows = await db.query<Permission & { present: boolean }>(
        `SELECT ${P_COLUMNS}
           FROM public.stratum_tenants t LEFT JOIN public.stratum_permissions p ON p.tenant_id = t.id
          WHERE t.id = $1::uuid ORDER BY p.key`,
        [tenantId],
      );
      if (rows.length === 0) throw tenantNotFound(tenantId);
      return rows.filter((r) => r.id !== null);
    },

    async resolvePermissions(tenantId) {
      return { ...(await resolveRaw(tenantId)) };
    },

    async resolvePermission(tenantId, key) {
      return (await resolveRaw(tenantId))[key] ?? null;
    },
  };
}

function auditView(row: Permission): Record<string, unknown> {
  return { key: row.key, value: row.value, mode: row.mode, revocation_mode: row.revocation_mode, delegated_from: row.delegated_from };
}

function makeCache(option: PermissionServiceDeps["cache"], bus: ChangeBus | undefined): ResolveCache | null {
  if (option instanceof ResolveCache) return option;
  if (option === false) return null;
  if (option === undefined) return bus ? new ResolveCache() : null;
  return new ResolveCache(option === true ? {} : option);
}
