/**
 * /ui/api/v1/* → the control plane's /api/v1/*, for a signed-in operator. The operator's session
 * (the HS256 JWT of the HttpOnly cookie, session.ts) is passed on as `Authorization: Bearer`: the
 * control plane verifies it with its JWT login (src/server/jwt-auth.ts) and maps it to the
 * operator's scopes — bounded to one tenant's subtree while viewing as that tenant. No API key is
 * involved, in the browser or here.
 *
 * The control plane runs in the same Fastify app, so the call is an in-process inject: no second
 * port, no token on the wire.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { StratumError } from "../../src/index.js";
import { sessionToken } from "./session.js";

export interface ProxyOptions {
  /** True when the request carries a valid session (expired or forged tokens are not passed on). */
  signedIn(request: FastifyRequest): Promise<boolean>;
}

export const PROXY_PREFIX = "/ui/api/v1";

export function registerProxy(app: FastifyInstance, options: ProxyOptions): void {
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const token = sessionToken(request.headers.cookie);
    if (!token || !(await options.signedIn(request))) throw new StratumError("UNAUTHORIZED", "Sign in to the dashboard first.");
    const url = `/api/v1${request.url.slice(PROXY_PREFIX.length)}`;
    const hasBody = request.body !== undefined && request.body !== null;
    const answer = await app.inject({
      method: request.method as "GET",
      url,
      headers: { authorization: `Bearer ${token}`, accept: "application/json", ...(hasBody ? { "content-type": "application/json" } : {}) },
      ...(hasBody ? { payload: JSON.stringify(request.body) } : {}),
    });
    reply.code(answer.statusCode);
    const type = answer.headers["content-type"];
    if (typeof type === "string") reply.type(type);
    return reply.send(answer.body);
  };

  app.route({ method: ["GET", "POST", "PUT", "PATCH", "DELETE"], url: `${PROXY_PREFIX}/*`, handler: forward });
}
