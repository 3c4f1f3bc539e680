/**
 * `npm run test:stress`: only test/stress/**, with the same harness and limits as `npm test`,
 * reporting to its own file so .ci/run can add its counts to the main run's.
 */
import { configDefaults, defineConfig } from "vitest/config";
import base, { STRESS } from "./vitest.config.js";

export default defineConfig({
  test: {
    ...base.test,
    include: [`${STRESS}/*.test.ts`],
    exclude: [...configDefaults.exclude],
    outputFile: { json: ".tmp/vitest-stress-report.json" },
  },
});
