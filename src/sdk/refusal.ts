/**
 * Refusals of a request (they become its HTTP answer) and the tenant lookup every path of tenant
 * resolution shares.
 */
import { StratumError, isStratumError, type ErrorCode } from "../core/errors.js";
import { StratumTransportError } from "./errors.js";
import type { ConfigApi } from "./resources/config.js";
import type { PermissionsApi } from "./resources/permissions.js";
import type { TenantsApi } from "./resources/tenants.js";
import type { TenantRecord } from "./types.js";

export type TenantSource = "header" | "jwt" | "custom";

export interface ResolverClient {
  tenants: Pick<TenantsApi, "get">;
  config: Pick<ConfigApi, "resolve">;
  permissions: Pick<PermissionsApi, "resolve">;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A refusal that becomes the HTTP answer. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly error: StratumError | StratumTransportError,
  ) {
    super(error.message);
  }
}

export const refuse = (status: number, code: ErrorCode, message: string) => new Refusal(status, new StratumError(code, message));

export function assertTenantId(id: string, where: string): void {
  if (!UUID.test(id)) throw refuse(400, "VALIDATION_FAILED", `${where} must be a tenant id (a UUID).`);
}

/** Looks a tenant up for a request: unknown (or invisible to the SDK's key) is 404, control-plane trouble 502/503. */
export async function lookUp(client: ResolverClient, id: string): Promise<TenantRecord> {
  try {
    return await client.tenants.get(id);
  } catch (error) {
    if (isStratumError(error, "TENANT_NOT_FOUND") || isStratumError(error, "FORBIDDEN")) {
      throw refuse(404, "TENANT_NOT_FOUND", `Tenant ${id} does not exist.`);
    }
    throw upstream(error);
  }
}

/** The control plane failed us: the request is not the caller's fault. */
export function upstream(error: unknown): unknown {
  if (error instanceof StratumTransportError) return new Refusal(error.code === "BAD_RESPONSE" ? 502 : 503, error);
  if (error instanceof StratumError) {
    return refuse(502, "INTERNAL", `The control plane refused the tenant lookup (${error.code}); check the SDK's API key and its scopes.`);
  }
  return error;
}
