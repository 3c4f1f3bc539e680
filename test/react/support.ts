/**
 * A real control plane on a fresh test database, listening on an ephemeral port, with the
 * seeds' small tree (AcmeSec → NorthStar MSP → Client Alpha) and an admin client pointed at it.
 */
import type { AddressInfo } from "node:net";
import { cleanup, configure } from "@testing-library/react";
import type { FastifyInstance } from "fastify";
import { createFetchAdminClient, type StratumAdminClient } from "../../src/react/index.js";
import { createControlPlane } from "../../src/server/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { stratumTestClient } from "../support/stratum-client.js";

export const BOOTSTRAP = "sk_test_bootstrap_react_admin";

// Every find/waitFor waits on real HTTP and PostgreSQL; on a loaded two-core machine that can take
// well over testing-library's default second.
configure({ asyncUtilTimeout: 10_000 });

export interface ReactFixture {
  db: TestDatabase;
  prisma: ReturnType<typeof stratumTestClient>["prisma"];
  controlPlane: FastifyInstance;
  url: string;
  root: { id: string; name: string };
  msp: { id: string; name: string };
  alpha: { id: string; name: string };
  /** The fetch-backed client, optionally with a fetch that records what it sends. */
  client(fetchImpl?: typeof fetch): StratumAdminClient;
  close(): Promise<void>;
}

export async function reactFixture(label: string): Promise<ReactFixture> {
  const db = await createTestDatabase({ label });
  const client = stratumTestClient(db);
  const s = client.prisma.$stratum;
  const root = await s.createTenant({ name: "AcmeSec", slug: "acmesec", isolation_strategy: "SHARED_RLS" });
  const msp = await s.createTenant({ name: "NorthStar MSP", slug: "northstar_msp", parent_id: root.id });
  const alpha = await s.createTenant({ name: "Client Alpha", slug: "client_alpha", parent_id: msp.id });
  const controlPlane = createControlPlane({ prisma: client.prisma, bootstrapKey: BOOTSTRAP });
  await controlPlane.listen({ port: 0, host: "127.0.0.1" });
  const { port } = controlPlane.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    db,
    prisma: client.prisma,
    controlPlane,
    url,
    root,
    msp,
    alpha,
    client: (fetchImpl) => createFetchAdminClient({ controlPlaneUrl: url, apiKey: BOOTSTRAP, ...(fetchImpl ? { fetch: fetchImpl } : {}) }),
    async close() {
      cleanup();
      await controlPlane.close();
      await client.close();
      await db.drop();
    },
  };
}

/** Passes every request on to the real network, noting `METHOD /path` (to see what loaded when). */
export function recordingFetch(): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: (input, init) => {
      calls.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    },
  };
}
