/** `stratum serve`: the control plane over real HTTP, loading the project's generated modules. */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/main.js";
import { registerServe, startControlPlaneServer, type RunningControlPlane } from "../../src/cli/serve.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

let db: TestDatabase;
let running: RunningControlPlane;
beforeAll(async () => {
  db = await createTestDatabase({ label: "srv_serve" });
  running = await startControlPlaneServer({
    databaseUrl: db.appUrl,
    scopeKey: db.scopeKey,
    bootstrapKey: "sk_test_bootstrap",
    port: 0,
    host: "127.0.0.1",
    clientModule: repo("generated/prisma/client.ts"),
    modelsModule: repo("generated/stratum/index.ts"),
    logger: false,
  });
});
afterAll(async () => {
  await running?.close();
  await db?.drop();
});

describe("stratum serve", () => {
  it("answers the seed's curl requests over HTTP", async () => {
    const headers = { "X-API-Key": "sk_test_bootstrap", "Content-Type": "application/json" };
    const rootRes = await fetch(`${running.url}/api/v1/tenants`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "AcmeSec", slug: "acmesec", isolation_strategy: "SHARED_RLS" }),
    });
    expect(rootRes.status).toBe(201);
    const root = (await rootRes.json()) as { id: string };
    const childRes = await fetch(`${running.url}/api/v1/tenants`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "NorthStar MSP", slug: "northstar_msp", parent_id: root.id }),
    });
    const child = (await childRes.json()) as { id: string; parent_id: string };
    expect(child.parent_id).toBe(root.id);
    const config = await fetch(`${running.url}/api/v1/tenants/${child.id}/config`, { headers: { "X-API-Key": "sk_test_bootstrap" } });
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({});
    expect((await fetch(`${running.url}/api/v1/tenants`)).status).toBe(401);
    expect(await (await fetch(`${running.url}/health`)).json()).toEqual({ status: "ok" });
  });

  it("the CLI refuses to start without DATABASE_URL", async () => {
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      await expect(buildProgram([registerServe]).parseAsync(["node", "stratum", "serve"])).rejects.toThrow(/DATABASE_URL/);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });
});
