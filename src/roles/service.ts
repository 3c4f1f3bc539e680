import type { Db } from "../core/db.js";
import type { AuditSink } from "../core/ports.js";
import type { PermissionService } from "../permissions/index.js";
import { roleAssignments } from "./assignments.js";
import { roleDefinitions } from "./definitions.js";
import type { RoleService } from "./types.js";

/** Roles over the permission service (definitions) and stratum_role_assignments (holders). */
export function createRoleService(db: Db, deps: { audit: AuditSink; permissions: PermissionService }): RoleService {
  return { ...roleDefinitions(deps.permissions), ...roleAssignments(db, deps) };
}
