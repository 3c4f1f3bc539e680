/**
 * Readers and writers on a moving tenant (support/move-load.ts): each strategy once as the old home
 * and once as the new, on a pool of 1, where a stale route and a flip meet most often. Every pair
 * on pools of 1 and 10 is test/stress/moves-under-load.test.ts.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { moveUnderLoad, STRATEGY_PAIRS, type Client } from "../support/move-load.js";
import { stratumTestClient } from "../support/stratum-client.js";

let db: TestDatabase;
let admin: pg.Pool;
const clients: Client[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ label: "faults_moves" });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await admin?.end();
  await db?.drop();
});

describe.each([1])("a tenant moving under load, pool of %i", (poolSize) => {
  let mover: Client;
  let other: Client;

  beforeAll(() => {
    mover = stratumTestClient(db, { poolSize });
    other = stratumTestClient(db, { poolSize });
    clients.push(mover, other);
  });

  it.each(
    STRATEGY_PAIRS.filter(
      ([from, to]) => `${from}>${to}` === "SHARED_RLS>SCHEMA" || `${from}>${to}` === "SCHEMA>DATABASE" || `${from}>${to}` === "DATABASE>SHARED_RLS",
    ),
  )("%s → %s: reads see every committed row, writes are neither lost nor doubled", async (from, to) => {
    await moveUnderLoad(db, admin, mover, other, from, to);
  });
});
