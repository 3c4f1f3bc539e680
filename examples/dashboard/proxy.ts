/**
 * /ui/api/v1/* → the control plane's /api/v1/*, for a signed-in operator. The key is added here,
 * on the server: the operator's own key, or while viewing as a tenant, a key limited to that
 * tenant's subtree (made once per tenant and kept in memory).
 *
 * The control plane runs in the same Fastify app, so the call is an in-process inject: no second
 * port, no key on the wire.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { StratumError } from "../../src/index.js";
import type { DashboardPrisma } from "./db.js";
import type { Session } from "./session.js";

export interface ProxyOptions {
  prisma: DashboardPrisma;
  /** The operator's control-plane key (the bootstrap key in this example). */
  apiKey: string;
  session(request: FastifyRequest): Promise<Session | null>;
}

export const PROXY_PREFIX = "/ui/api/v1";

export function registerProxy(app: FastifyInstance, options: ProxyOptions): void {
  const tenantKeys = new Map<string, Promise<string>>();
  const keyFor = (session: Session): Promise<string> => {
    if (!session.as) return Promise.resolve(options.apiKey);
    const tenantId = session.as;
    let key = tenantKeys.get(tenantId);
    if (!key) {
      key = options.prisma.$stratum
        .createApiKey({ name: "dashboard: view as tenant", scopes: ["*"], tenant_id: tenantId, environment: "test" })
        .then((k) => k.key);
      // A failed mint is not cached: the next request tries again.
      key.catch(() => tenantKeys.delete(tenantId));
      tenantKeys.set(tenantId, key);
    }
    return key;
  };

  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = await options.session(request);
    if (!session) throw new StratumError("UNAUTHORIZED", "Sign in to the dashboard first.");
    const url = `/api/v1${request.url.slice(PROXY_PREFIX.length)}`;
    const hasBody = request.body !== undefined && request.body !== null;
    const answer = await app.inject({
      method: request.method as "GET",
      url,
      headers: { "x-api-key": await keyFor(session), accept: "application/json", ...(hasBody ? { "content-type": "application/json" } : {}) },
      ...(hasBody ? { payload: JSON.stringify(request.body) } : {}),
    });
    reply.code(answer.statusCode);
    const type = answer.headers["content-type"];
    if (typeof type === "string") reply.type(type);
    return reply.send(answer.body);
  };

  app.route({ method: ["GET", "POST", "PUT", "PATCH", "DELETE"], url: `${PROXY_PREFIX}/*`, handler: forward });
}
