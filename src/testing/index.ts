/**
 * `stratum-prisma/testing`: prove tenant isolation on your own schema.
 *
 *   import { assertTenantIsolation } from "stratum-prisma/testing";
 *   import { stratumModels } from "./generated/stratum/index.js";
 *
 *   it("isolates tenants", async () => {
 *     await assertTenantIsolation(prisma, stratumModels); // seeds two tenants, attacks, cleans up
 *   });
 *
 * Works with any test runner: `checkTenantIsolation` returns a report, `assertTenantIsolation`
 * throws a TenantIsolationError whose message names each failing model and vector.
 */
export {
  ISOLATION_VECTORS,
  TenantIsolationError,
  assertTenantIsolation,
  checkTenantIsolation,
  type IsolationVector,
  type TenantIsolationClient,
  type TenantIsolationOptions,
  type TenantIsolationReport,
  type VectorResult,
} from "./kit.js";
export { planSeeding, rowData, scalarValue, type DataOverrides, type RowData, type SeedPlan } from "./generate.js";
