/**
 * A real control plane on a fresh test database, listening on an ephemeral port, with the
 * seeds' small tree (AcmeSec → NorthStar MSP → Client Alpha) and an admin client pointed at it.
 */
import { cleanup, configure } from "@testing-library/react";
import { createFetchAdminClient, type StratumAdminClient } from "../../src/react/index.js";
import { startControlPlane, type ControlPlaneFixture } from "../support/control-plane.js";

export { recordingFetch } from "../support/recording-fetch.js";

export const BOOTSTRAP = "sk_test_bootstrap_react_admin";

// Every find/waitFor waits on real HTTP and PostgreSQL; on a loaded two-core machine that can take
// well over testing-library's default second.
configure({ asyncUtilTimeout: 10_000 });

export interface ReactFixture extends ControlPlaneFixture {
  root: { id: string; name: string };
  msp: { id: string; name: string };
  alpha: { id: string; name: string };
  /** The fetch-backed client, optionally with a fetch that records what it sends. */
  client(fetchImpl?: typeof fetch): StratumAdminClient;
}

export async function reactFixture(label: string): Promise<ReactFixture> {
  const base = await startControlPlane({ label, bootstrapKey: BOOTSTRAP });
  const s = base.prisma.$stratum;
  const root = await s.createTenant({ name: "AcmeSec", slug: "acmesec", isolation_strategy: "SHARED_RLS" });
  const msp = await s.createTenant({ name: "NorthStar MSP", slug: "northstar_msp", parent_id: root.id });
  const alpha = await s.createTenant({ name: "Client Alpha", slug: "client_alpha", parent_id: msp.id });
  return {
    ...base,
    root,
    msp,
    alpha,
    client: (fetchImpl) => createFetchAdminClient({ controlPlaneUrl: base.url, apiKey: BOOTSTRAP, ...(fetchImpl ? { fetch: fetchImpl } : {}) }),
    async close() {
      cleanup();
      await base.close();
    },
  };
}
