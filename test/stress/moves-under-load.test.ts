/**
 * Every pair of strategies, pools of 1 and 10: readers and writers on a moving tenant
 * (support/move-load.ts). The quick variant is test/faults/moves.test.ts.
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
  db = await createTestDatabase({ label: "stress_moves" });
  admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await admin?.end();
  await db?.drop();
});

describe.each([1, 10])("a tenant moving under load, pool of %i", (poolSize) => {
  let mover: Client;
  let other: Client;

  beforeAll(() => {
    mover = stratumTestClient(db, { poolSize });
    other = stratumTestClient(db, { poolSize });
    clients.push(mover, other);
  });

  it.each(STRATEGY_PAIRS)("%s → %s: reads see every committed row, writes are neither lost nor doubled", async (from, to) => {
    await moveUnderLoad(db, admin, mover, other, from, to);
  });
});
