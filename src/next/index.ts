/**
 * stratum-prisma/next: tenant helpers for Next.js route handlers and server actions. Typed on the
 * standard Request / Headers only, so `next` stays an optional peer: Next's `headers()` result and
 * NextRequest satisfy these types.
 *
 *   export const { withTenant, runAsTenant } = nextTenant(s);
 *   export const GET = withTenant(async (request, { tenant }) => Response.json(await prisma.$tenant().user.findMany()));
 */
import { runWithTenant } from "../extension/context.js";
import type { HeaderSource, StratumSdk } from "../sdk/client.js";
import { StratumTransportError } from "../sdk/errors.js";
import { refusalBody, type RequestTenant, type TenantMiddlewareOptions } from "../sdk/resolve.js";
import { StratumError } from "../core/errors.js";

export type NextTenantOptions = TenantMiddlewareOptions<Request | undefined>;

/** `RequestTenant`, or also null when the options say `optional: true`. */
export type TenantFor<O> = O extends { optional: true } ? RequestTenant | null : RequestTenant;

export interface NextTenantHelpers<T> {
  /** Wraps a route handler: 400/401/403/404 JSON answers for bad tenants; the handler runs in the tenant's context. */
  withTenant<Ctx = unknown>(
    handler: (request: Request, context: Ctx & { tenant: T }) => Response | Promise<Response>,
  ): (request: Request, context: Ctx) => Promise<Response>;
  /** For server actions: `runAsTenant(await headers(), async (tenant) => …)`. Throws StratumError when no tenant resolves. */
  runAsTenant<R>(headers: HeaderSource, fn: (tenant: T) => R | Promise<R>): Promise<R>;
  /** The request's tenant, without entering its context. */
  getTenant(headers: HeaderSource): Promise<T>;
}

export function nextTenant<O extends NextTenantOptions>(sdk: StratumSdk, options?: O): NextTenantHelpers<TenantFor<O>> {
  const opts: NextTenantOptions = options ?? {};
  const getTenant = (headers: HeaderSource, request?: Request) => sdk.resolveTenant(headers, opts, request) as Promise<TenantFor<O>>;
  const inContext = <R>(tenant: RequestTenant | null, fn: () => R | Promise<R>): Promise<R> =>
    Promise.resolve(tenant ? runWithTenant(tenant.tenant_id, fn) : fn());

  return {
    withTenant(handler) {
      return async (request, context) => {
        let tenant: TenantFor<O>;
        try {
          tenant = await getTenant(request.headers, request);
        } catch (error) {
          const answer = refusalResponse(error);
          if (answer) return answer;
          throw error;
        }
        return inContext(tenant, () => handler(request, { ...context, tenant }));
      };
    },
    async runAsTenant(headers, fn) {
      const tenant = await getTenant(headers);
      return inContext(tenant, () => fn(tenant));
    },
    getTenant: (headers) => getTenant(headers),
  };
}

/** The JSON answer for a resolution refusal, or null for errors that are not one. */
function refusalResponse(error: unknown): Response | null {
  if (error instanceof StratumError) {
    const status = Number(error.details?.http_status);
    if (Number.isInteger(status) && status >= 400) return Response.json(refusalBody(error), { status });
  }
  if (error instanceof StratumTransportError) return Response.json(refusalBody(error), { status: error.code === "BAD_RESPONSE" ? 502 : 503 });
  return null;
}
