/**
 * `npm run test:stress`: test/stress/** (minutes of load), and the attack suite once more with the
 * app's connections going through a PgBouncer in transaction mode (stratum's pooler mode). Same
 * harness and limits as `npm test`, reporting to its own file so .ci/run can add its counts.
 */
import { configDefaults, defineConfig } from "vitest/config";
import base, { STRESS } from "./vitest.config.js";

// The projects inherit everything but the file lists (which `extends` would concatenate).
const { include: _include, exclude: _exclude, ...shared } = base.test ?? {};

export default defineConfig({
  test: {
    ...shared,
    outputFile: { json: ".tmp/vitest-stress-report.json" },
    projects: [
      { extends: true, test: { name: "stress", include: [`${STRESS}/*.test.ts`], exclude: [...configDefaults.exclude] } },
      {
        extends: true,
        test: {
          name: "attacks through PgBouncer",
          include: ["test/attacks/*.test.ts"],
          // session.test.ts shows attacks working on one fixed connection, which a transaction
          // pooler does not give; pooler.test.ts is the pooler's own.
          exclude: [...configDefaults.exclude, "test/attacks/session.test.ts", "test/attacks/pooler.test.ts"],
          env: { STRATUM_TEST_POOLER: "1" },
        },
      },
    ],
  },
});
