/** A control plane on a fresh test database, for `app.inject(...)`. */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import pg from "pg";
import { createControlPlane, type ControlPlaneOptions } from "../../src/server/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { stratumTestClient } from "../support/stratum-client.js";

export const BOOTSTRAP = "sk_test_bootstrap";

export interface ServerFixture {
  db: TestDatabase;
  app: FastifyInstance;
  prisma: ReturnType<typeof stratumTestClient>["prisma"];
  /** Requests with a key (the bootstrap key by default). */
  call(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, body?: unknown, key?: string | null): Promise<LightMyRequestResponse>;
  /** Rows as the owner sees them (no RLS), to check what is really stored. */
  ownerQuery<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function serverFixture(label: string, options: Partial<ControlPlaneOptions> = {}): Promise<ServerFixture> {
  const db = await createTestDatabase({ label });
  const client = stratumTestClient(db);
  const app = createControlPlane({ prisma: client.prisma, bootstrapKey: BOOTSTRAP, ...options });
  await app.ready();
  const owner = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
  return {
    db,
    app,
    prisma: client.prisma,
    call: (method, url, body, key = BOOTSTRAP) =>
      app.inject({
        method,
        url,
        headers: key === null ? {} : { "x-api-key": key },
        ...(body === undefined ? {} : { payload: body as object }),
      }),
    ownerQuery: async <T>(sql: string, params: unknown[] = []) => (await owner.query(sql, params)).rows as T[],
    async close() {
      await app.close();
      await owner.end();
      await client.close();
      await db.drop();
    },
  };
}

/** The parsed body, failing the test with the whole answer when the status is not `status`. */
export function expectStatus<T = Record<string, unknown>>(res: LightMyRequestResponse, status: number): T {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`);
  return (res.body ? res.json() : undefined) as T;
}
