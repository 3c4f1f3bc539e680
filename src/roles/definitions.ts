/**
 * Role definitions, stored and resolved as permissions (key `role:<name>`): the permission
 * service's rules — locks, overrides, delegation, tombstones, its cache and its audit — are the
 * roles' rules, with no second inheritance model to keep in step.
 */
import { StratumError } from "../core/errors.js";
import { validate } from "../core/validate.js";
import type { Permission, PermissionService, ResolvedPermission } from "../permissions/index.js";
import { PermissionModes, RevocationModes } from "../permissions/index.js";
import { z } from "zod";
import { ROLE_KEY_PREFIX, RoleName, RoleValue, Scopes, type ResolvedRole, type Role, type RoleService } from "./types.js";

const Define = z
  .object({
    name: RoleName,
    scopes: Scopes,
    description: z.string().max(500).optional(),
    mode: z.enum(PermissionModes).default("INHERITED"),
    revocation_mode: z.enum(RevocationModes).optional(),
  })
  .strict();
const Update = z
  .object({
    scopes: Scopes.optional(),
    description: z.string().max(500).optional(),
    mode: z.enum(PermissionModes).optional(),
    revocation_mode: z.enum(RevocationModes).optional(),
  })
  .strict()
  .refine((v) => Object.values(v).some((x) => x !== undefined), "nothing to update: give scopes, description, mode or revocation_mode");

export const roleKey = (name: string): string => `${ROLE_KEY_PREFIX}${name}`;

/** The role a permission value describes; null for a malformed value (written around the role API). */
function parseValue(value: unknown): RoleValue | null {
  const parsed = RoleValue.safeParse(value);
  return parsed.success ? { ...parsed.data, scopes: [...new Set(parsed.data.scopes)].sort() } : null;
}

function toRole(row: Permission): Role {
  const value = parseValue(row.value);
  return {
    name: row.key.slice(ROLE_KEY_PREFIX.length),
    tenant_id: row.tenant_id,
    scopes: value?.scopes ?? [],
    description: value?.description ?? null,
    mode: row.mode,
    revocation_mode: row.revocation_mode,
    delegated_from: row.delegated_from,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function toResolvedRole(entry: ResolvedPermission): ResolvedRole | null {
  if (!entry.key.startsWith(ROLE_KEY_PREFIX)) return null;
  const value = parseValue(entry.value);
  if (!value) return null;
  return {
    name: entry.key.slice(ROLE_KEY_PREFIX.length),
    scopes: value.scopes,
    description: value.description ?? null,
    mode: entry.mode,
    source_tenant_id: entry.source_tenant_id,
    locked: entry.locked,
    delegated: entry.delegated,
  };
}

type Definitions = Pick<RoleService, "defineRole" | "updateRole" | "deleteRole" | "listRoles" | "resolveRole">;

export function roleDefinitions(permissions: PermissionService): Definitions {
  async function resolveRole(tenantId: string, name: string): Promise<ResolvedRole | null> {
    validate(RoleName, name, "role name");
    const entry = await permissions.resolvePermission(tenantId, roleKey(name));
    return entry ? toResolvedRole(entry) : null;
  }

  return {
    resolveRole,

    async defineRole(tenantId, input) {
      const data = validate(Define, input, "role");
      const value: RoleValue = { scopes: [...new Set(data.scopes)].sort(), ...(data.description !== undefined ? { description: data.description } : {}) };
      const row = await permissions.createPermission(tenantId, {
        key: roleKey(data.name),
        value,
        mode: data.mode,
        ...(data.revocation_mode ? { revocation_mode: data.revocation_mode } : {}),
      });
      return toRole(row);
    },

    async updateRole(tenantId, name, input) {
      validate(RoleName, name, "role name");
      const data = validate(Update, input, "role update");
      let value: RoleValue | undefined;
      if (data.scopes !== undefined || data.description !== undefined) {
        // Scopes and description travel in one JSON value: fill the part not given from the own row.
        const own = (await permissions.listPermissions(tenantId)).find((p) => p.key === roleKey(name) && p.revoked_at === null);
        if (!own) throw roleNotOwned(tenantId, name);
        const current = parseValue(own.value);
        const scopes = data.scopes ?? current?.scopes ?? [];
        const description = data.description ?? current?.description;
        value = { scopes: [...new Set(scopes)].sort(), ...(description !== undefined ? { description } : {}) };
      }
      const row = await permissions.updatePermission(tenantId, roleKey(name), {
        ...(value ? { value } : {}),
        ...(data.mode ? { mode: data.mode } : {}),
        ...(data.revocation_mode ? { revocation_mode: data.revocation_mode } : {}),
      });
      return toRole(row);
    },

    async deleteRole(tenantId, name) {
      validate(RoleName, name, "role name");
      const result = await permissions.revokePermission(tenantId, roleKey(name));
      return { name, revocation_mode: result.revocation_mode, removed: result.removed, tombstone: result.tombstone };
    },

    async listRoles(tenantId) {
      const resolved = await permissions.resolvePermissions(tenantId);
      return Object.values(resolved)
        .map(toResolvedRole)
        .filter((r): r is ResolvedRole => r !== null)
        .sort((a, b) => a.name.localeCompare(b.name));
    },
  };
}

function roleNotOwned(tenantId: string, name: string): StratumError {
  return new StratumError(
    "PERMISSION_NOT_FOUND",
    `Tenant ${tenantId} has no own definition of role "${name}"; define it there first (an inherited role is changed where it is defined).`,
    {
      key: roleKey(name),
      tenantId,
    },
  );
}
