/**
 * `stratum-prisma/server`: the REST control plane.
 *
 *   import { createControlPlane } from "stratum-prisma/server";
 *   const app = createControlPlane({ prisma, bootstrapKey: process.env.STRATUM_BOOTSTRAP_KEY });
 *   await app.listen({ port: 3001 });
 */
export { createControlPlane, API_PREFIX } from "./app.js";
export { STATUS_OF, type ErrorPayload } from "./errors.js";
export type { Principal } from "./auth.js";
export type { ControlPlaneOptions, ControlPlaneRateLimit, StratumClient } from "./types.js";
export type { ControlPlaneJwtOptions } from "./jwt-auth.js";
export { API_KEY_SCOPES, type ApiKeyScope, type ApiKey, type CreatedApiKey } from "../apikeys/index.js";
