/**
 * The MSSP dashboard: the control plane under /api/v1, operator sign-in under /auth, the
 * browser's proxy to the control plane under /ui/api/v1, the React app at / (bundle at /app.js,
 * built by esbuild on first request) and the MSP view's data at /dashboard/api/overview/:tenantId.
 *
 *   npx tsx examples/dashboard/server.ts          # embedded PGlite; DATABASE_URL=<owner url> for PostgreSQL
 *
 * The browser never sees an API key: operators sign in with email and password and get a signed
 * session (a JWT in an HttpOnly cookie); the proxy passes it on to the control plane as a bearer
 * token, which the control plane's JWT login verifies (see session.ts, proxy.ts).
 */
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { StratumError } from "../../src/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { buildClientBundle } from "./bundle.js";
import { openDatabase, type DashboardPrisma } from "./db.js";
import { ticketOverview } from "./overview.js";
import { dashboardPage } from "./page.js";
import { registerProxy } from "./proxy.js";
import { seedDashboard, type SeedOptions, type SeedResult } from "./seed.js";
import { checkOperator, issueSession, readSession, SESSION_ISSUER, sessionCookie, type Operator, type Session } from "./session.js";

export interface DashboardOptions {
  prisma: DashboardPrisma;
  /** The control plane's bootstrap key, used only server-side; default a fresh random key. */
  apiKey?: string;
  /** Who may sign in; default one demo operator (DEMO_OPERATOR). */
  operators?: readonly Operator[];
  /** Signs session cookies; default 32 random bytes (sessions end with the process). */
  sessionSecret?: Uint8Array;
  /** Seed the demo tree when it is missing (default), with these strategies; false to skip. */
  seed?: SeedOptions | false;
  logger?: boolean;
}

export interface Dashboard {
  app: FastifyInstance;
  apiKey: string;
  operators: readonly Operator[];
  seed: SeedResult | null;
}

/** The demo's sign-in; replace with your identity provider. */
export const DEMO_OPERATOR: Operator = { email: "operator@acmesec.test", password: "correct horse battery staple", name: "Dana Operator" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function registerAuth(
  app: FastifyInstance,
  prisma: DashboardPrisma,
  operators: readonly Operator[],
  secret: Uint8Array,
  session: (r: FastifyRequest) => Promise<Session | null>,
): void {
  const signedIn = async (request: FastifyRequest) => {
    const s = await session(request);
    if (!s) throw new StratumError("UNAUTHORIZED", "Sign in to the dashboard first.");
    return s;
  };
  const describe = async (s: Session) => ({
    email: s.email,
    name: s.name,
    view_as: s.as ? { id: s.as, name: (await prisma.$stratum.getTenant(s.as)).name } : null,
  });

  app.post<{ Body: { email?: unknown; password?: unknown } }>("/auth/login", async (request, reply) => {
    const { email, password } = request.body ?? {};
    const op = typeof email === "string" && typeof password === "string" ? checkOperator(operators, email, password) : null;
    if (!op) throw new StratumError("UNAUTHORIZED", "Unknown email or wrong password.");
    const s: Session = { email: op.email, name: op.name, as: null };
    reply.header("set-cookie", sessionCookie(await issueSession(secret, s)));
    return describe(s);
  });
  app.post("/auth/logout", async (_request, reply) => reply.header("set-cookie", sessionCookie(null)).send({ signed_out: true }));
  app.get("/auth/session", async (request) => describe(await signedIn(request)));
  app.post<{ Body: { tenant_id?: unknown } }>("/auth/view-as", async (request, reply) => {
    const s = await signedIn(request);
    const id = request.body?.tenant_id ?? null;
    if (id !== null && (typeof id !== "string" || !UUID.test(id))) throw new StratumError("VALIDATION_FAILED", "tenant_id must be a tenant id or null.");
    const next: Session = { ...s, as: id };
    const described = await describe(next); // an unknown tenant fails here, before the cookie changes
    reply.header("set-cookie", sessionCookie(await issueSession(secret, next)));
    return described;
  });

  app.get<{ Params: { tenantId: string } }>("/dashboard/api/overview/:tenantId", async (request) => {
    const { tenantId } = request.params;
    if (!UUID.test(tenantId)) throw new StratumError("VALIDATION_FAILED", "tenantId must be a tenant id (a uuid).");
    const s = await signedIn(request);
    // Viewing as a tenant: only that tenant's subtree, as the proxy's limited key would allow.
    if (s.as && !(await prisma.$stratum.getTenant(tenantId)).path.includes(s.as))
      throw new StratumError("FORBIDDEN", "Viewing as a tenant: this tenant lies outside its subtree.");
    return ticketOverview(prisma, tenantId);
  });
}

export async function createDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { prisma } = options;
  const apiKey = options.apiKey ?? `sk_test_${randomBytes(24).toString("base64url")}`;
  const operators = options.operators ?? [DEMO_OPERATOR];
  const secret = options.sessionSecret ?? new Uint8Array(randomBytes(32));
  const seed = options.seed === false ? null : await seedDashboard(prisma, options.seed ?? {});
  // The control plane is a whole Fastify app (routes under /api/v1, its error format); the
  // dashboard's own routes are added to it, so both share one port and one error shape.
  // Operators sign in to the control plane with the dashboard's own session token (a JWT): every
  // scope, bounded to the tenant they view as, if any. The bootstrap key stays for scripts.
  const jwt = {
    secret,
    issuer: SESSION_ISSUER,
    algorithms: ["HS256"],
    allowUnrestricted: true,
    map: (claims: Record<string, unknown>) => ({ scopes: ["*"], tenantId: typeof claims["as"] === "string" ? claims["as"] : null }),
  };
  const app = createControlPlane({ prisma, bootstrapKey: apiKey, jwt, logger: options.logger ?? false });
  const session = (request: FastifyRequest) => readSession(secret, request.headers.cookie);
  registerAuth(app, prisma, operators, secret, session);
  registerProxy(app, { signedIn: async (request) => (await session(request)) !== null });

  app.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").header("cache-control", "no-store").send(dashboardPage()));

  let bundle: Promise<string> | null = null;
  app.get("/app.js", async (_request, reply) => {
    // Built once per server; a failed build is retried on the next request rather than cached.
    bundle ??= buildClientBundle().catch((error: unknown) => {
      bundle = null;
      throw error;
    });
    return reply
      .type("text/javascript; charset=utf-8")
      .header("cache-control", "no-cache")
      .send(await bundle);
  });

  return { app, apiKey, operators, seed };
}

async function main(): Promise<void> {
  const db = await openDatabase();
  const { app, operators } = await createDashboard({
    prisma: db.prisma,
    ...(process.env.STRATUM_BOOTSTRAP_KEY ? { apiKey: process.env.STRATUM_BOOTSTRAP_KEY } : {}),
    seed: { schemaTenants: db.schemaTenants },
  });
  const port = Number(process.env.PORT ?? 3002);
  const host = process.env.HOST ?? "127.0.0.1";
  await app.listen({ port, host });
  console.log(`MSSP dashboard on ${db.where}: http://${host}:${port}/`);
  console.log(`sign in as ${operators[0]?.email} / ${operators[0]?.password}`);
  const stop = async () => {
    await app.close();
    await db.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
