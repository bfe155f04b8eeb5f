import { useCallback, useEffect, useState } from "preact/hooks";
import { getJson, isAbort } from "./api.js";

export interface Fetched<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Fetch again (after a mutation, or the page's Refresh button). */
  reload: () => void;
}

/** GETs `path` when it changes (navigation) and on `reload()`; never on a timer. */
export function useFetch<T>(path: string | undefined): Fetched<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(path !== undefined);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (path === undefined) return undefined;
    const controller = new AbortController();
    setLoading(true);
    getJson<T>(path, controller.signal).then(
      (answer) => {
        setData(answer);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (isAbort(failure)) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [path, generation]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { data, error, loading, reload };
}
