import { configDefaults, defineConfig } from "vitest/config";

/** Stress and soak tests (minutes of load) run on their own: `npm run test:stress` (vitest.stress.config.ts). */
export const STRESS = "test/stress/**";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    exclude: [...configDefaults.exclude, STRESS],
    globalSetup: ["test/harness/global-setup.ts"],
    // Real PostgreSQL, two cores: one database per file, at most two files at a time.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    reporters: ["default", "json"],
    outputFile: { json: ".tmp/vitest-report.json" },
  },
});
