/** Small hooks: debounced values, polling a loader, and loading state for async calls. */
import { useCallback, useEffect, useRef, useState } from "react";

export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Run ``load`` when ``deps`` change (and every ``everyMs`` if given); keep the last result. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const gen = useRef(0);
  const run = useCallback(load, deps);
  const reload = useCallback(() => {
    const mine = ++gen.current;
    setLoading(true);
    run()
      .then((d) => {
        if (mine === gen.current) {
          setData(d);
          setError(null);
        }
      })
      .catch((e: unknown) => {
        if (mine === gen.current) setError(e instanceof Error ? e.message : String(e));
      })
      .finally(() => {
        if (mine === gen.current) setLoading(false);
      });
  }, [run]);
  useEffect(() => {
    reload();
    if (!everyMs) return;
    const id = setInterval(reload, everyMs);
    return () => clearInterval(id);
  }, [reload, everyMs]);
  return { data, error, loading, reload };
}
