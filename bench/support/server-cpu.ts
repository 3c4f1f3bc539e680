/**
 * CPU time of the local PostgreSQL's processes, from Linux's /proc/<pid>/schedstat (nanoseconds
 * on a CPU, exact, unlike the 10 ms ticks of /proc/<pid>/stat). Per process, so a scenario's
 * share is the sum of each backend's growth between two snapshots; a backend that exited in
 * between takes its time with it (the benches keep their pools open while they measure). Counts
 * every postgres process on the machine, so it means something on a quiet one only; elsewhere
 * (no /proc) it reads nothing and callers print "—".
 */
import { readdirSync, readFileSync } from "node:fs";

export type CpuSnapshot = Map<number, number>;

export function postgresCpu(): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "postgres") continue;
      out.set(Number(pid), Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

/** Microseconds of PostgreSQL CPU between two snapshots (NaN without /proc). */
export function cpuSince(before: CpuSnapshot, after = postgresCpu()): number {
  if (after.size === 0) return Number.NaN;
  let ns = 0;
  for (const [pid, t] of after) ns += t - (before.get(pid) ?? 0);
  return ns / 1000;
}
