/**
 * GDPR, consent and key rotation as `$stratum` methods, over the runtime. Filled in by the
 * compliance work (issue 5); services.ts spreads whatever this returns into `$stratum`.
 */
import type { StratumRuntime } from "./runtime.js";

export function createComplianceServices(_runtime: StratumRuntime) {
  return {};
}
