export { createPermissionService, RESOLVE_PERMISSIONS_SQL, PermissionModes, RevocationModes } from "./service.js";
export type {
  PermissionService,
  PermissionServiceDeps,
  PermissionMode,
  RevocationMode,
  CreatePermissionInput,
  UpdatePermissionInput,
  Permission,
  ResolvedPermission,
  ResolvedPermissions,
  RevokeResult,
} from "./service.js";
