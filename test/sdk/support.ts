/** A real control plane over a fresh test database, listening on an ephemeral port, and SDK clients for it. */
import type { AddressInfo } from "node:net";
import { createServer, type RequestListener, type Server } from "node:http";
import { stratum, type StratumSdk, type StratumSdkOptions } from "../../src/sdk/index.js";
import { startControlPlane, type ControlPlaneFixture } from "../support/control-plane.js";

/** A fetch that counts the requests it passes on (to see what the cache saved). */
export { recordingFetch as countingFetch } from "../support/recording-fetch.js";

export const BOOTSTRAP = "sk_test_bootstrap_sdk_key";

export interface SdkFixture extends ControlPlaneFixture {
  /** An SDK client for the control plane (bootstrap key unless given). */
  sdk(options?: Partial<StratumSdkOptions>): StratumSdk;
}

export async function sdkFixture(label: string): Promise<SdkFixture> {
  const base = await startControlPlane({ label, bootstrapKey: BOOTSTRAP });
  return {
    ...base,
    sdk: (options = {}) => stratum({ controlPlaneUrl: base.url, apiKey: BOOTSTRAP, ...options }),
  };
}

/** Starts a plain node server (for transport failures: stalls, proxies' HTML pages). */
export async function rawServer(handler: RequestListener): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The rejection of `promise` (fails the test when it resolves). */
export async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown>; status?: number }> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if ("value" in outcome) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.error as Error & { code?: string };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
