/**
 * Run by test/optional-peers.test.ts under `--import ./test/support/hide-peers.mjs`, so ioredis,
 * bullmq and jose cannot be resolved: an app that installed stratum-prisma alone. Prints one JSON
 * line: what each entry point and each part needing a peer did.
 */
import type { Db } from "../../src/core/db.js";

type Outcome = { ok: true } | { ok: false; code: string | undefined; message: string; details: unknown };

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    await run();
    return { ok: true };
  } catch (error) {
    const e = error as { code?: string; message?: string; details?: unknown };
    return { ok: false, code: e.code, message: e.message ?? String(error), details: e.details };
  }
}

const result: Record<string, Outcome> = {};
// Without the defence: the bare import of a missing peer, what a static import would throw at load.
result.bareImport = await outcome(() => import("ioredis"));
for (const entry of ["index", "sdk/index", "testing/index", "migrate/index", "server/index"]) {
  result[`entry:${entry}`] = await outcome(() => import(`../../src/${entry}.js`));
}

const { createRateLimiter, createRedisChangeBus } = await import("../../src/index.js");
const limiter = createRateLimiter({ redis: "redis://127.0.0.1:1", failMode: "open" });
result.rateLimiter = await outcome(() => limiter.limit({ tenantId: "t1" }, { limit: 1, windowMs: 1000 }));
result.rateLimiterClose = await outcome(() => limiter.close());

const bus = createRedisChangeBus({ redisUrl: "redis://127.0.0.1:1", connectionString: "postgresql://127.0.0.1:1/none" });
result.changeBus = await outcome(() => bus.ready);
result.changeBusClose = await outcome(() => bus.close());

const { createWebhookService } = await import("../../src/webhooks/index.js");
const unusedDb = {} as Db; // never reached: the queue is needed first
const errors: unknown[] = [];
const webhooks = createWebhookService(unusedDb, {
  audit: { record: async () => undefined },
  redis: "redis://127.0.0.1:1",
  onError: (error) => errors.push(error),
});
result.webhookQueue = await outcome(() => webhooks.queue());
result.webhookDispatch = await outcome(() => webhooks.dispatchPending());
webhooks.start({ dispatcher: false });
result.webhookClose = await outcome(() => webhooks.close());
const reported = errors[0] as { code?: string } | undefined;
result.webhookStartReported =
  reported?.code === "PEER_DEPENDENCY_MISSING" ? { ok: true } : { ok: false, code: reported?.code, message: String(reported), details: null };

const { createTokenVerifier } = await import("../../src/sdk/jwt.js");
const verify = createTokenVerifier({ secret: "s".repeat(32) });
result.jwt = await outcome(() => verify("a.b.c"));

console.log(JSON.stringify(result));
