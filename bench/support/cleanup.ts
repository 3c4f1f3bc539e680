/**
 * A benchmark's scratch databases and second servers are dropped at the end, also when it fails
 * or is interrupted (Ctrl+C, SIGTERM): `cleanups` collects the undo steps as the set-up makes
 * things, `cleanup()` runs them newest first and lets signals go again. A second signal during a
 * clean-up exits at once.
 */
export function cleanupOnExit(log: (line: string) => void): { cleanups: Array<() => Promise<unknown>>; cleanup: () => Promise<void> } {
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
    cleanups.length = 0;
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log("interrupted: cleaning up");
    void cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return { cleanups, cleanup };
}
