export { createRoleService } from "./service.js";
export { ROLE_KEY_PREFIX, PrincipalTypes } from "./types.js";
export type {
  DefineRoleInput,
  PrincipalRef,
  PrincipalScopes,
  PrincipalType,
  ResolvedRole,
  Role,
  RoleAssignment,
  RoleService,
  UpdateRoleInput,
} from "./types.js";
