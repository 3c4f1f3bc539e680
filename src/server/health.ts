/**
 * /health (liveness: the process answers) and /ready (readiness: the database answers, stratum's
 * tables exist, the scope key matches, the connection is safe, and Redis answers when the server
 * uses it). Both need no key, at the root and under /api/v1, so probes and clients find them.
 */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { StratumServices } from "../extension/services.js";

export const ReadyCheck = z.object({
  name: z.enum(["database", "migrations", "scope_key", "connection", "redis"]),
  ok: z.boolean(),
  message: z.string().describe("What is wrong and what to do, when ok is false."),
});
export const ReadyBody = z
  .object({ status: z.enum(["ready", "not_ready"]), checks: z.array(ReadyCheck) })
  .meta({ examples: [{ status: "ready", checks: [{ name: "database", ok: true, message: "The database answers." }] }] });
export type ReadyReport = z.infer<typeof ReadyBody>;

/** Answers within `ms` or counts as down: a readiness probe must not hang on a dead Redis. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function readiness(stratum: StratumServices, pingRedis: (() => Promise<void>) | null, log: (error: unknown) => void): Promise<ReadyReport> {
  const checks: ReadyReport["checks"] = [];
  try {
    for (const check of await within(stratum.checkReadiness(), 10_000)) {
      if (check.cause) log(check.cause);
      checks.push({ name: check.name, ok: check.ok, message: check.message });
    }
  } catch (error) {
    log(error);
    checks.push({ name: "database", ok: false, message: "The readiness checks failed against the database; the details are in the server log." });
  }
  if (pingRedis) {
    try {
      await within(pingRedis(), 2_000);
      checks.push({ name: "redis", ok: true, message: "Redis answers." });
    } catch (error) {
      log(error);
      checks.push({ name: "redis", ok: false, message: "Redis does not answer: check REDIS_URL and that Redis is running." });
    }
  }
  return { status: checks.every((c) => c.ok) ? "ready" : "not_ready", checks };
}

export function registerHealthRoutes(app: FastifyInstance, stratum: StratumServices, pingRedis: (() => Promise<void>) | null): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get(
    "/health",
    {
      schema: {
        tags: ["meta"],
        summary: "Liveness: the process answers",
        description: "No key. Does not touch the database: use /ready for that.",
        security: [],
        response: { 200: z.object({ status: z.literal("ok") }).meta({ examples: [{ status: "ok" }] }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );
  typed.get(
    "/ready",
    {
      schema: {
        tags: ["meta"],
        summary: "Readiness: database, migrations, scope key, connection safety, Redis",
        description: "No key. 200 when every check passes, 503 otherwise; each check says what to fix.",
        security: [],
        response: { 200: ReadyBody, 503: ReadyBody },
      },
    },
    async (request, reply) => {
      const report = await readiness(stratum, pingRedis, (error) => request.log.warn({ err: error }, "readiness check failed"));
      return reply.code(report.status === "ready" ? 200 : 503).send(report);
    },
  );
}
