/**
 * vitest globalSetup: find PostgreSQL and Redis, create the roles, build (or reuse) the migrated
 * template, make this run's scope key, and hand everything to the workers (provide/inject and
 * STRATUM_TEST_* env). Teardown stops what the run started.
 */
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { CONTEXT_ENV, type ContextKey } from "./context.js";
import { resolvePostgres, withDatabase } from "./postgres.js";
import { resolveRedis } from "./redis.js";
import { ensureRoles, ownerUrlOf } from "./roles.js";
import { stopSecondPostgres } from "./second-postgres.js";
import { ensureTemplate, writeScopeKey } from "./template.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string): void => {
    if (process.env.STRATUM_TEST_VERBOSE) console.log(`[harness] ${line}`);
  };
  const runId = `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
  const postgres = await resolvePostgres();
  log(`postgres from ${postgres.source}`);
  const redis = await resolveRedis().then(
    (target) => ({ target, error: "" }),
    (error: unknown) => ({ target: null, error: error instanceof Error ? error.message : String(error) }),
  );
  try {
    await ensureRoles(postgres.adminUrl);
    const template = await ensureTemplate(postgres.adminUrl, log);
    const scopeKey = randomBytes(32).toString("hex");
    await writeScopeKey(withDatabase(ownerUrlOf(postgres.adminUrl), template), scopeKey);

    const values: Record<ContextKey, string> = {
      scopeKey,
      stratumAdminUrl: postgres.adminUrl,
      stratumTemplate: template,
      stratumRunId: runId,
      redisUrl: redis.target?.url ?? "",
      redisError: redis.error,
    };
    for (const [key, value] of Object.entries(values) as Array<[ContextKey, string]>) {
      project.provide(key, value);
      process.env[CONTEXT_ENV[key]] = value;
    }
  } catch (error) {
    await postgres.stop().catch(() => undefined);
    await redis.target?.stop().catch(() => undefined);
    throw error;
  }

  return async () => {
    await stopSecondPostgres(runId).catch((error: unknown) => console.error("[harness] stopping the second PostgreSQL:", error));
    await redis.target?.stop().catch(() => undefined);
    await postgres.stop().catch(() => undefined);
  };
}
