/**
 * Plans for docs/isolation.md: a statement as the app role in a tenant's scope (its signed token
 * read from the token table as the superuser), `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)`, run three times
 * and the last plan kept (caches warm). Printed to stderr when BENCH_EXPLAIN=1.
 */
import type { Db } from "./setup.js";
import { log, withClient } from "./setup.js";

export const EXPLAIN = process.env.BENCH_EXPLAIN === "1";

export async function explainAs(db: Db, tenantId: string, mode: "s" | "d", sql: string): Promise<string> {
  const token = await withClient(
    db.superUrl,
    async (c) =>
      (await c.query<{ token: string }>("SELECT token FROM stratum_scope_tokens WHERE tenant_id = $1 AND mode = $2 LIMIT 1", [tenantId, mode])).rows[0]!.token,
  );
  return withClient(db.appUrl, async (c) => {
    let plan = "";
    for (let i = 0; i < 3; i++) {
      await c.query("BEGIN");
      await c.query("SELECT pg_catalog.set_config('stratum.tenant_id', $1, true)", [token]);
      plan = (await c.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`)).rows.map((r) => r["QUERY PLAN"]).join("\n");
      await c.query("COMMIT");
    }
    return plan;
  });
}

export async function printPlan(title: string, db: Db, tenantId: string, mode: "s" | "d", sql: string): Promise<void> {
  if (EXPLAIN) log(`plan — ${title}\n${sql}\n${await explainAs(db, tenantId, mode, sql)}\n`);
}
