/**
 * Express (and any connect-style server) middleware. Typed on node's own request and response so
 * the SDK does not depend on express; Express 4 and 5 request handlers accept it.
 *
 * Mount it after body parsers: a parser that reads the body as a stream resumes later outside the
 * async context, and `prisma.$tenant()` in the handler would then find no tenant.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { runWithTenant } from "../extension/context.js";
import { createTenantResolver, refusalBody, type RequestTenant, type ResolverClient, type TenantMiddlewareOptions } from "./resolve.js";

declare global {
  // Merges into @types/express's Request when the app uses it; harmless otherwise.
  namespace Express {
    interface Request {
      /** Set by stratum's middleware; null with `optional: true` and no tenant. */
      tenant?: RequestTenant | null;
    }
  }
}

export type ExpressTenantOptions = TenantMiddlewareOptions<IncomingMessage>;
export type ConnectMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

export function expressMiddleware(client: ResolverClient, options: ExpressTenantOptions = {}): ConnectMiddleware {
  const resolveRequest = createTenantResolver<IncomingMessage>(client, options);
  return (req, res, next) => {
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(",") : value;
    };
    resolveRequest(header, req).then(
      (resolution) => {
        if (!resolution.ok) {
          res.statusCode = resolution.status;
          res.setHeader("content-type", "application/json; charset=utf-8");
          res.end(JSON.stringify(refusalBody(resolution.error)));
          return;
        }
        (req as IncomingMessage & { tenant?: RequestTenant | null }).tenant = resolution.tenant;
        if (!resolution.tenant) return next();
        runWithTenant(resolution.tenant.tenant_id, () => next());
      },
      // Your resolveTenant or allow threw: Express's error handling decides.
      (error: unknown) => next(error),
    );
  };
}
