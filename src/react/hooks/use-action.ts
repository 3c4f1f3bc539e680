/** One write at a time per control, with its own error: a failed save shows next to what failed. */
import { useCallback, useRef, useState } from "react";
import { toAdminError, type AdminError } from "../errors.js";

export interface Action {
  pending: boolean;
  error: AdminError | null;
  /** Runs `write`; resolves true on success, false when it failed (the error is kept). */
  run(write: () => Promise<unknown>): Promise<boolean>;
  clearError(): void;
}

export function useAction(): Action {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<AdminError | null>(null);
  const busy = useRef(false);

  const run = useCallback(async (write: () => Promise<unknown>) => {
    // A double click must not send the write twice.
    if (busy.current) return false;
    busy.current = true;
    setPending(true);
    setError(null);
    try {
      await write();
      return true;
    } catch (caught) {
      setError(toAdminError(caught));
      return false;
    } finally {
      busy.current = false;
      setPending(false);
    }
  }, []);

  const clearError = useCallback(() => setError(null), []);
  return { pending, error, run, clearError };
}
