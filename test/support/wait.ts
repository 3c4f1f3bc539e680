/**
 * The one way tests wait for something that happens in the background (a delivery, a reconnect, a
 * lock showing up in pg_locks): poll the observable outcome until it holds, bounded, and say what
 * never happened. Never a fixed sleep: a busy machine only makes this slower, not red.
 */
import { vi } from "vitest";

export interface WaitOptions {
  /** Give up after this long (default 20 s: generous, since a loaded 2-core CI machine is slow). */
  timeoutMs?: number;
  /** Poll interval (default 20 ms). */
  intervalMs?: number;
}

/** Resolves with the first truthy value `probe` returns; rejects naming `what` on timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions = {},
): Promise<T> {
  try {
    return (await vi.waitUntil(probe, { timeout: options.timeoutMs ?? 20_000, interval: options.intervalMs ?? 20 })) as T;
  } catch (error) {
    throw new Error(`timed out waiting for ${what} (${(error as Error).message})`);
  }
}
