/**
 * Loads data for a component and keeps the last good data while reloading, so a table does not
 * flash empty after every save. Answers that arrive after a newer load (or after unmount) are
 * dropped: switching tenants quickly must never show the previous tenant's data.
 */
import { useCallback, useEffect, useRef, useState, type DependencyList } from "react";
import { toAdminError, type AdminError } from "../errors.js";

export interface AsyncState<T> {
  data: T | undefined;
  error: AdminError | null;
  loading: boolean;
  reload(): Promise<void>;
}

/**
 * `deps` name what is loaded (a new tenant clears the old data); `revision` only says it went
 * stale (an invalidation after a write reloads in place, the old data stays until the new arrives).
 */
export function useAsync<T>(load: () => Promise<T>, deps: DependencyList, revision = 0): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<AdminError | null>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const result = await loadRef.current();
      if (mine !== generation.current) return;
      setData(result);
      setError(null);
    } catch (caught) {
      if (mine !== generation.current) return;
      setError(toAdminError(caught));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
    // The caller's deps decide when to reload; `load` itself is read through a ref.
  }, deps);

  useEffect(() => {
    // Data of another tenant must not stay on screen while the new one loads.
    setData(undefined);
    void run();
    return () => {
      generation.current++;
    };
  }, [run]);

  const seen = useRef(revision);
  useEffect(() => {
    if (seen.current === revision) return;
    seen.current = revision;
    void run();
  }, [revision, run]);

  return { data, error, loading, reload: run };
}
