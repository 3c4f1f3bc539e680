/**
 * Tenant impersonation: a caller acts as one of its descendants (an MSP operator working inside
 * a client) by naming it in a header. Two checks, both required: the caller is permitted (its
 * verified token carries the impersonation claim, or the app's `allow` says yes), and the target
 * lies strictly below the caller in the tree (by the target's path of ancestor ids, not by any
 * string prefix). Unknown and out-of-subtree targets get the same 403, so the header cannot be
 * used to probe which tenants exist elsewhere.
 */
import type { TenantRecord } from "./types.js";
import type { JwtClaims } from "./jwt.js";
import { assertTenantId, lookUp, refuse, Refusal, type ResolverClient, type TenantSource } from "./refusal.js";

export interface ImpersonationRequest<Req = unknown> {
  /** The caller's own tenant. */
  caller: TenantRecord;
  source: TenantSource;
  /** The caller's verified token claims, when it presented one. */
  claims: JwtClaims | null;
  /** The tenant the caller asks to act as (already checked to be a descendant). */
  target: TenantRecord;
  req: Req;
}

export interface ImpersonationOptions<Req = unknown> {
  /** Header naming the tenant to act as; default "x-impersonate-tenant". */
  header?: string;
  /** Token claim that must be `true` to impersonate, default "stratum_impersonate" (used when `allow` is not given). */
  claim?: string;
  /** Your own decision; replaces the claim check. A caller identified only by a header is refused unless this allows it. */
  allow?: (request: ImpersonationRequest<Req>) => boolean | Promise<boolean>;
}

export async function checkImpersonation<Req>(
  client: ResolverClient,
  options: ImpersonationOptions<Req> | undefined,
  input: { caller: TenantRecord; source: TenantSource; claims: JwtClaims | null; targetId: string; req: Req },
): Promise<TenantRecord> {
  if (!options) throw refuse(403, "FORBIDDEN", "Tenant impersonation is not enabled on this server.");
  // The claim is checked before the tree, so a caller without the right learns nothing about the tree from the answer.
  if (!options.allow && !(input.source === "jwt" && input.claims?.[options.claim ?? "stratum_impersonate"] === true)) {
    throw notPermitted(input.caller.id);
  }
  assertTenantId(input.targetId, "The impersonation header");
  const denied = () =>
    refuse(403, "FORBIDDEN", `Cannot act as tenant ${input.targetId}: it does not exist or is not a descendant of tenant ${input.caller.id}.`);
  let target: TenantRecord;
  try {
    target = await lookUp(client, input.targetId);
  } catch (error) {
    if (error instanceof Refusal && error.status === 404) throw denied();
    throw error;
  }
  if (target.id === input.caller.id || !target.path.includes(input.caller.id)) throw denied();
  if (options.allow && !(await options.allow({ caller: input.caller, source: input.source, claims: input.claims, target, req: input.req }))) {
    throw notPermitted(input.caller.id);
  }
  return target;
}

function notPermitted(callerId: string) {
  return refuse(403, "FORBIDDEN", `This caller may not impersonate tenants (tenant ${callerId}).`);
}
