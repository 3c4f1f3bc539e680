/** The CLI's progress output for fleet migrations: a bar on a terminal, plain lines elsewhere. */
import { describe, expect, it } from "vitest";
import { interactiveOutput, progressReporter } from "../src/cli/migrate-progress.js";
import type { HomeProgress } from "../src/migrate/fleet.js";

const home = (done: number, total: number, status: HomeProgress["status"] = "migrated"): HomeProgress => ({
  done,
  total,
  tenant_id: "00000000-0000-4000-8000-000000000001",
  strategy: "SCHEMA",
  placement: "t_00000000000040008000000000000001",
  status,
  ms: 5,
  ...(status === "failed" ? { error: "canceling statement due to lock timeout" } : {}),
});

function record(interactive: boolean) {
  const chunks: string[] = [];
  let clock = 0;
  const reporter = progressReporter({ write: (t) => void chunks.push(t) }, interactive, () => clock);
  const tick = (ms: number) => {
    clock += ms;
  };
  return { chunks, reporter, tick };
}

describe("fleet progress", () => {
  it("is plain lines off a terminal and under CI=true", () => {
    expect(interactiveOutput({ isTTY: true }, {})).toBe(true);
    expect(interactiveOutput({ isTTY: false }, {})).toBe(false);
    expect(interactiveOutput({ isTTY: true }, { CI: "true" })).toBe(false);
    expect(interactiveOutput({ isTTY: true }, { CI: "false" })).toBe(true);
  });

  it("plain output: the plan, one line per tenth of the run and one per failure, never a carriage return", () => {
    const { chunks, reporter, tick } = record(false);
    reporter.plan({ total: 1100, current: 100, toRun: 1000, dryRun: false, migration: "20261206_init" });
    for (let i = 1; i <= 1000; i++) {
      tick(10);
      reporter.home(home(i, 1000, i === 500 ? "failed" : "migrated"));
    }
    reporter.end();
    const text = chunks.join("");
    expect(text).not.toContain("\r");
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("homes: 1100, current 100, to migrate 1000 (template at 20261206_init)");
    expect(lines.filter((l) => /^\d+\/1000 homes/.test(l))).toHaveLength(10);
    expect(lines).toContain(
      "failed SCHEMA home t_00000000000040008000000000000001 (tenant 00000000-0000-4000-8000-000000000001): canceling statement due to lock timeout",
    );
    expect(lines.at(-1)).toBe("1000/1000 homes 100% 100.0 homes/s 1 failed");
  });

  it("terminal: one bar redrawn in place at most every 100 ms, failures printed above it", () => {
    const { chunks, reporter, tick } = record(true);
    reporter.plan({ total: 20, current: 0, toRun: 20, dryRun: true, migration: null });
    for (let i = 1; i <= 20; i++) {
      tick(25);
      reporter.home(home(i, 20, i === 3 ? "failed" : "planned"));
    }
    reporter.end();
    const draws = chunks.filter((c) => c.startsWith("\r\x1b[2K["));
    // The first draw at the plan, one per 100 ms of 500 ms, one after the failure, the last home.
    expect(draws.length).toBeGreaterThanOrEqual(5);
    expect(draws.length).toBeLessThan(20);
    expect(draws.at(-1)).toMatch(/\[#{24}\] 20\/20 homes 100% 40\.0 homes\/s 1 failed$/);
    expect(chunks.join("")).toContain("\r\x1b[2Kfailed SCHEMA home");
    expect(chunks[0]).toBe("homes: 20, current 0, to plan 20\n");
  });
});
