/**
 * The dashboard's stratum client for the browser journeys: the shared test client's setup (app
 * role, owner connection for isolation moves, one field-encryption key) plus webhooks on the run's
 * Redis, delivered by a worker in this process. stratumTestClient takes no webhook options, and a
 * webhook journey needs a real delivery worker.
 *
 * maxAttempts 1: a receiver's first failure leaves the delivery dead at once, so the journey can
 * retry it from the UI without waiting through a backoff schedule.
 */
import { randomBytes } from "node:crypto";
import { PrismaClient } from "../../../generated/prisma/client.js";
import { stratumModels } from "../../../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../../../src/index.js";
import type { TestDatabase } from "../../harness/database.js";
import { redisUrl } from "../../harness/redis.js";

export function dashboardTestClient(db: TestDatabase) {
  const adapter = stratumAdapter({ connectionString: db.appUrl, pool: { max: 10 }, servers: { main: db.appUrl }, maxPools: 4 });
  // A loaded 2-core machine can take more than Prisma's default 2 s to hand a pooled connection to a transaction.
  const base = new PrismaClient({ adapter, transactionOptions: { maxWait: 20_000, timeout: 20_000 } });
  const prisma = base.$extends(
    stratum({
      models: stratumModels,
      scopeKey: db.scopeKey,
      encryptionKey: randomBytes(32).toString("base64"),
      admin: { connectionString: db.ownerUrl, servers: { main: db.adminUrl } },
      webhooks: {
        redis: redisUrl(),
        // One queue per run: another test file's worker must not take these jobs.
        queueName: `browser-dashboard-${randomBytes(4).toString("hex")}`,
        // The journey's receiver listens on 127.0.0.1.
        allowPrivateNetworks: true,
        maxAttempts: 1,
        pollIntervalMs: 100,
        timeoutMs: 5000,
        onError: () => undefined,
      },
    }),
  );
  return {
    prisma,
    async close() {
      await prisma.$stratum.close();
      await base.$disconnect();
    },
  };
}
