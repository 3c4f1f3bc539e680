/**
 * Progress of `stratum-prisma migrate` over the tenant homes. On a terminal: one bar redrawn in
 * place (at most every 100 ms), failures printed above it as they happen. Elsewhere (a pipe, a
 * file, CI=true): plain lines a log keeps readably — one per tenth of the run, one per failure.
 */
import type { FleetPlan, HomeProgress } from "../migrate/fleet.js";

export interface ProgressSink {
  write(text: string): void;
}

export interface ProgressReporter {
  plan(plan: FleetPlan): void;
  home(progress: HomeProgress): void;
  /** Clears the bar (a terminal) so the summary starts on a clean line. */
  end(): void;
}

/** True on an interactive terminal outside CI. */
export function interactiveOutput(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0";
  return stream.isTTY === true && !ci;
}

interface Tally {
  done: number;
  total: number;
  failed: number;
  startedAt: number;
}

export function progressLine(t: Tally, now: number, width = 24): string {
  const ratio = t.total === 0 ? 1 : t.done / t.total;
  const filled = Math.round(ratio * width);
  const seconds = Math.max((now - t.startedAt) / 1000, 0.001);
  const rate = t.done / seconds;
  const eta = rate > 0 && t.done < t.total ? ` eta ${Math.ceil((t.total - t.done) / rate)} s` : "";
  return (
    `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${t.done}/${t.total} homes ${Math.round(ratio * 100)}% ${rate.toFixed(1)} homes/s` +
    `${t.failed ? ` ${t.failed} failed` : ""}${eta}`
  );
}

function failureLine(p: HomeProgress): string {
  return `failed ${p.strategy} home ${p.placement} (tenant ${p.tenant_id}): ${p.error ?? "unknown error"}`;
}

export function progressReporter(sink: ProgressSink, interactive: boolean, now: () => number = Date.now): ProgressReporter {
  const tally: Tally = { done: 0, total: 0, failed: 0, startedAt: now() };
  let drawnAt = 0;
  let shown = false;
  let nextTenth = 1;
  const draw = () => {
    sink.write(`\r\x1b[2K${progressLine(tally, now())}`);
    drawnAt = now();
    shown = true;
  };
  const clear = () => {
    if (shown) sink.write("\r\x1b[2K");
    shown = false;
  };
  return {
    plan(plan) {
      Object.assign(tally, { done: 0, total: plan.toRun, failed: 0, startedAt: now() });
      const verb = plan.dryRun ? "to plan" : "to migrate";
      sink.write(`homes: ${plan.total}, current ${plan.current}, ${verb} ${plan.toRun}${plan.migration ? ` (template at ${plan.migration})` : ""}\n`);
      if (interactive && plan.toRun > 0) draw();
    },
    home(p) {
      tally.done = p.done;
      if (p.status === "failed") {
        tally.failed++;
        clear();
        sink.write(`${failureLine(p)}\n`);
      }
      if (interactive) {
        if (p.done === p.total || now() - drawnAt >= 100 || !shown) draw();
        return;
      }
      // Plain output: a line at each tenth (and the last home), so 1,000 homes make ten lines.
      if (p.done === p.total || p.done >= Math.ceil((nextTenth * p.total) / 10)) {
        sink.write(`${progressLine(tally, now()).replace(/^\[[#-]*\] /, "")}\n`);
        while (nextTenth <= 10 && p.done >= Math.ceil((nextTenth * p.total) / 10)) nextTenth++;
      }
    },
    end() {
      if (interactive && shown) sink.write("\n");
      shown = false;
    },
  };
}
