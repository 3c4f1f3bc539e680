/**
 * A write that keeps the screen honest: one at a time (useAction), then the named resources are
 * invalidated so every panel showing them re-reads, and a toast says what happened (when a
 * StratumProvider is above; the components work without one).
 */
import { useCallback, useContext } from "react";
import { StratumContext } from "../context.js";
import { invalidate, type StratumResource } from "../invalidation.js";
import { useAction, type Action } from "./use-action.js";

export interface Mutation extends Omit<Action, "run"> {
  /** Resolves the write's answer, or null when it failed (the error is kept in `error`). */
  run<T>(write: () => Promise<T>, done?: string | ((result: T) => string)): Promise<T | null>;
}

export function useMutation(client: object, resources: readonly StratumResource[]): Mutation {
  const action = useAction();
  const context = useContext(StratumContext);
  const toast = context?.toast;
  const key = resources.join(",");
  const run = useCallback(
    async <T>(write: () => Promise<T>, done?: string | ((result: T) => string)): Promise<T | null> => {
      let result: T | undefined;
      const ok = await action.run(async () => {
        result = await write();
      });
      if (!ok) return null;
      invalidate(client, ...resources);
      if (done && toast) toast(typeof done === "string" ? done : done(result as T));
      return result as T;
    },
    // `resources` is compared by its joined names: callers pass a fresh array literal each render.
    [action.run, client, key, toast],
  );
  return { pending: action.pending, error: action.error, clearError: action.clearError, run };
}
