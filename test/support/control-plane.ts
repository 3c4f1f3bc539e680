/** A real control plane over a fresh test database, listening on an ephemeral port. */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { createControlPlane } from "../../src/server/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { stratumTestClient } from "./stratum-client.js";

export interface ControlPlaneFixture {
  db: TestDatabase;
  prisma: ReturnType<typeof stratumTestClient>["prisma"];
  controlPlane: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Closes the control plane, then the client, then drops the database. */
  close(): Promise<void>;
}

export async function startControlPlane(options: { label: string; bootstrapKey: string }): Promise<ControlPlaneFixture> {
  const db = await createTestDatabase({ label: options.label });
  const client = stratumTestClient(db);
  const controlPlane = createControlPlane({ prisma: client.prisma, bootstrapKey: options.bootstrapKey });
  await controlPlane.listen({ port: 0, host: "127.0.0.1" });
  const { port } = controlPlane.server.address() as AddressInfo;
  return {
    db,
    prisma: client.prisma,
    controlPlane,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await controlPlane.close();
      await client.close();
      await db.drop();
    },
  };
}
