/**
 * Who holds which role where, and the one-call answer "what may this principal do here". An
 * assignment at tenant T holds at T and its whole subtree — the way a grant at T reaches its
 * descendants — and the role is read as the tenant asked about resolves it, so a descendant's
 * override of an INHERITED role applies to everyone holding the role there.
 */
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink } from "../core/ports.js";
import { chainSql } from "../core/subtree.js";
import { validate } from "../core/validate.js";
import { assertTenantId, lockTenant } from "../config/tree.js";
import type { PermissionService } from "../permissions/index.js";
import { roleKey, toResolvedRole } from "./definitions.js";
import { PrincipalSchema, RoleName, type PrincipalRef, type PrincipalScopes, type RoleAssignment, type RoleService } from "./types.js";

const COLUMNS = "id::text, tenant_id::text, principal_type, principal_id, role, created_at";

/** The principal's assignments on the tenant's live chain (archived ancestors dropped, as for permissions), root first. */
export const CHAIN_ASSIGNMENTS_SQL = `
SELECT a.role, a.tenant_id::text AS assigned_at
  FROM ${chainSql("$1::uuid")} chain
  JOIN public.stratum_tenants t ON t.id = ANY(chain.ids) AND (t.id = $1::uuid OR t.status <> 'archived')
  JOIN public.stratum_role_assignments a ON a.tenant_id = t.id
 WHERE a.principal_type = $2 AND a.principal_id = $3
 ORDER BY t.depth, a.role`;

type Assignments = Pick<RoleService, "assignRole" | "unassignRole" | "listRoleAssignments" | "resolvePrincipalScopes">;

export function roleAssignments(db: Db, deps: { audit: AuditSink; permissions: PermissionService }): Assignments {
  /** A key limited to a subtree holds roles only inside it: a role above would reach tenants the key cannot. */
  async function checkApiKey(tx: Db, tenantId: string, keyId: string): Promise<void> {
    validate(z.uuid(), keyId, "API key id");
    const rows = await tx.query<{ inside: boolean | null }>(
      `SELECT (k.tenant_id IS NULL OR EXISTS (
                 SELECT 1 FROM public.stratum_tenants t, public.stratum_tenants kt
                  WHERE t.id = $2::uuid AND kt.id = k.tenant_id AND t.path <@ kt.path)) AS inside
         FROM public.stratum_api_keys k WHERE k.id = $1::uuid AND k.revoked_at IS NULL`,
      [keyId, tenantId],
    );
    if (!rows[0]) throw new StratumError("NOT_FOUND", `API key ${keyId} does not exist or is revoked.`, { apiKeyId: keyId });
    if (!rows[0].inside) {
      throw new StratumError("VALIDATION_FAILED", `API key ${keyId} is limited to another subtree; assign its roles at its own tenant or below.`, {
        apiKeyId: keyId,
        tenantId,
      });
    }
  }

  async function assignRole(tenantId: string, principal: PrincipalRef, role: string): Promise<RoleAssignment> {
    assertTenantId(tenantId);
    const who = validate(PrincipalSchema, principal, "principal");
    validate(RoleName, role, "role name");
    const resolved = await deps.permissions.resolvePermission(tenantId, roleKey(role));
    if (!resolved || !toResolvedRole(resolved)) {
      throw new StratumError("NOT_FOUND", `Role "${role}" is not defined at tenant ${tenantId} or above; define it first.`, { role, tenantId });
    }
    return db.transaction(async (tx) => {
      await lockTenant(tx, tenantId);
      if (who.type === "api_key") await checkApiKey(tx, tenantId, who.id);
      const inserted = await tx.query<RoleAssignment>(
        `INSERT INTO public.stratum_role_assignments (id, tenant_id, principal_type, principal_id, role)
         VALUES (gen_random_uuid(), $1::uuid, $2, $3, $4)
         ON CONFLICT (tenant_id, principal_type, principal_id, role) DO NOTHING RETURNING ${COLUMNS}`,
        [tenantId, who.type, who.id, role],
      );
      if (!inserted[0]) {
        // Already held: assigning twice is not an error, and writes no second audit entry.
        const existing = await tx.query<RoleAssignment>(
          `SELECT ${COLUMNS} FROM public.stratum_role_assignments WHERE tenant_id = $1::uuid AND principal_type = $2 AND principal_id = $3 AND role = $4`,
          [tenantId, who.type, who.id, role],
        );
        return existing[0]!;
      }
      await deps.audit.record(tx, {
        tenantId,
        action: "role.assign",
        targetType: who.type,
        targetId: who.id,
        after: { role, principal_type: who.type, principal_id: who.id },
      });
      return inserted[0];
    });
  }

  async function unassignRole(tenantId: string, principal: PrincipalRef, role: string): Promise<boolean> {
    assertTenantId(tenantId);
    const who = validate(PrincipalSchema, principal, "principal");
    validate(RoleName, role, "role name");
    return db.transaction(async (tx) => {
      const removed = await tx.execute(
        `DELETE FROM public.stratum_role_assignments WHERE tenant_id = $1::uuid AND principal_type = $2 AND principal_id = $3 AND role = $4`,
        [tenantId, who.type, who.id, role],
      );
      if (removed > 0) {
        await deps.audit.record(tx, {
          tenantId,
          action: "role.unassign",
          targetType: who.type,
          targetId: who.id,
          before: { role, principal_type: who.type, principal_id: who.id },
        });
      }
      return removed > 0;
    });
  }

  async function listRoleAssignments(tenantId: string, principal?: PrincipalRef): Promise<RoleAssignment[]> {
    assertTenantId(tenantId);
    const who = principal === undefined ? null : validate(PrincipalSchema, principal, "principal");
    const exists = await db.query(`SELECT 1 FROM public.stratum_tenants WHERE id = $1::uuid`, [tenantId]);
    if (!exists.length) throw new StratumError("TENANT_NOT_FOUND", `No tenant with id ${tenantId}. Check the id or create the tenant first.`, { tenantId });
    return db.query<RoleAssignment>(
      `SELECT ${COLUMNS} FROM public.stratum_role_assignments
        WHERE tenant_id = $1::uuid AND ($2::text IS NULL OR (principal_type = $2 AND principal_id = $3))
        ORDER BY principal_type, principal_id, role`,
      [tenantId, who?.type ?? null, who?.id ?? null],
    );
  }

  async function resolvePrincipalScopes(tenantId: string, principal: PrincipalRef): Promise<PrincipalScopes> {
    assertTenantId(tenantId);
    const who = validate(PrincipalSchema, principal, "principal");
    // Resolved permissions first: cached, and it refuses an unknown tenant with TENANT_NOT_FOUND.
    const resolved = await deps.permissions.resolvePermissions(tenantId);
    const held = await db.query<{ role: string; assigned_at: string }>(CHAIN_ASSIGNMENTS_SQL, [tenantId, who.type, who.id]);
    const scopes = new Set<string>();
    const roles = held.map(({ role, assigned_at }) => {
      const entry = resolved[roleKey(role)];
      const definition = entry ? toResolvedRole(entry) : null;
      for (const scope of definition?.scopes ?? []) scopes.add(scope);
      return { role, assigned_at, scopes: definition?.scopes ?? [], resolved: definition !== null };
    });
    return { tenant_id: tenantId, principal: who, scopes: [...scopes].sort(), roles };
  }

  return { assignRole, unassignRole, listRoleAssignments, resolvePrincipalScopes };
}
