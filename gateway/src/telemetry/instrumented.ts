import type {
  Backend,
  CallOptions,
  GraphBackend,
  KeyValueBackend,
  PatternName,
  TimeSeriesBackend,
} from "@prism/core";

/** One kind of backend call, made once per backend and operation (hooks may key caches by it). */
export interface BackendCall {
  /** The backend instance's name in the config, e.g. `pg-main`. */
  readonly backend: string;
  /** Its driver type, e.g. `postgres`. */
  readonly type: string;
  readonly pattern: PatternName;
  /** The pattern method, e.g. `get`, `write`, `neighbors`. */
  readonly operation: string;
  /** An open-ended stream (a TimeSeries tail): it ends when its consumer stops, not when the store answers. */
  readonly streaming: boolean;
}

/**
 * What an instrumented backend tells about each call: `onStart` before the backend is called
 * (its result — a start time, a span — comes back in `onEnd`), `onEnd` when the call settled
 * (a stream: when it ended, failed or its consumer stopped) with the error, undefined on success.
 * Hooks must not throw — except `onStart` refusing the call (the circuit breaker): the call then
 * fails with that error without reaching the backend, and `onEnd` is not called.
 *
 * @example const timing: BackendCallHooks<number> = { onStart: () => performance.now(), onEnd: (call, t0) => log(call.operation, performance.now() - t0) };
 */
export interface BackendCallHooks<T = unknown> {
  /**
   * `namespace` is the call's first argument (the Prism namespace: a name from the config, never
   * data), `options` its last (every backend method ends with its options: `signal` among them).
   */
  onStart(call: BackendCall, namespace: string, options: CallOptions | undefined): T;
  onEnd(call: BackendCall, started: T, error: unknown): void;
}

/** The methods of a pattern backend; each list below fails to compile when it misses one. */
type MethodsOf<B> = { [K in keyof B]: B[K] extends (...args: never[]) => unknown ? K : never }[keyof B];
type Complete<B, L extends readonly MethodsOf<B>[]> =
  Exclude<MethodsOf<B>, L[number]> extends never ? L : never;

const KEYVALUE: Complete<KeyValueBackend, ["put", "get", "delete", "mutate", "scan"]> = [
  "put",
  "get",
  "delete",
  "mutate",
  "scan",
];
const TIMESERIES: Complete<TimeSeriesBackend, ["write", "read", "tail", "retain", "scan"]> = [
  "write",
  "read",
  "tail",
  "retain",
  "scan",
];
const GRAPH: Complete<
  GraphBackend,
  [
    "upsertNodes",
    "upsertEdges",
    "getNodes",
    "deleteNodes",
    "deleteEdges",
    "neighbors",
    "traverse",
    "shortestPath",
    "getEdges",
    "scanNodes",
    "scanEdges",
  ]
> = [
  "upsertNodes",
  "upsertEdges",
  "getNodes",
  "deleteNodes",
  "deleteEdges",
  "neighbors",
  "traverse",
  "shortestPath",
  "getEdges",
  "scanNodes",
  "scanEdges",
];
/** Methods that return an AsyncIterable instead of a promise. */
const STREAMING: ReadonlySet<string> = new Set(["tail"]);

/** A backend method called with its arguments (every pattern method takes at most four). */
export type BackendMethod = (a: unknown, b: unknown, c: unknown, d: unknown) => unknown;

/**
 * The backend with each pattern method (KeyValue, TimeSeries, Graph) replaced by what `around`
 * makes of it — given the call's description and the method bound to its backend — or kept when
 * `around` returns undefined. The one way the gateway layers behaviour over every backend call:
 * `instrumented()` (hooks), `retrying()` (a second attempt). The result implements the same
 * interfaces as what it wraps (STYLE 11: behaviour by wrapping).
 *
 * @example const logged = aroundCalls(backend, (call, inner) => (a, b, c, d) => { log(call.operation); return inner(a, b, c, d); });
 */
export function aroundCalls(
  backend: Backend,
  around: (call: BackendCall, inner: BackendMethod) => BackendMethod | undefined,
): Backend {
  const { keyvalue, timeseries, graph } = backend;
  const wrap = <B extends { readonly capabilities: unknown }>(
    target: B,
    pattern: PatternName,
    methods: readonly MethodsOf<B>[],
  ): B => {
    const wrapped: Record<string, unknown> = {};
    Object.defineProperty(wrapped, "capabilities", { get: () => target.capabilities, enumerable: true });
    for (const method of methods) {
      const operation = method as string;
      const call: BackendCall = Object.freeze({
        backend: backend.name,
        type: backend.type,
        pattern,
        operation,
        streaming: STREAMING.has(operation),
      });
      const own = target[method] as BackendMethod | undefined;
      // A partial backend (a test double) keeps its gaps.
      if (typeof own !== "function") continue;
      const inner = own.bind(target);
      wrapped[operation] = around(call, inner) ?? inner;
    }
    return wrapped as B;
  };
  return {
    name: backend.name,
    type: backend.type,
    ...(keyvalue && { keyvalue: wrap(keyvalue, "keyvalue", KEYVALUE) }),
    ...(timeseries && { timeseries: wrap(timeseries, "timeseries", TIMESERIES) }),
    ...(graph && { graph: wrap(graph, "graph", GRAPH) }),
    health: (signal) => backend.health(signal),
    close: () => backend.close(),
  };
}

/**
 * The backend with every pattern call reported to `hooks`: the layer that times backend calls
 * for metrics (`telemetry/backend-metrics.ts`), traces them and runs the circuit breaker (one
 * layer for all of them: `combineHooks`). `layers.ts` puts it directly over each opened backend,
 * under `chunked()`, so what it sees are the store's own round trips. A call costs an async
 * frame and the two hooks.
 *
 * @example const timed = instrumented(backend, metrics.backendCalls); chunked(timed.keyvalue!, options);
 */
export function instrumented<T>(backend: Backend, hooks: BackendCallHooks<T>): Backend {
  return aroundCalls(backend, (call, inner) =>
    call.streaming
      ? (a, b, c, d) =>
          reported(inner(a, b, c, d) as AsyncIterable<unknown>, call, a as string, optionsOf(b, c, d), hooks)
      : async (a, b, c, d) => {
          // Fixed arity (every method takes at most four arguments): no rest array per call.
          const started = hooks.onStart(call, a as string, optionsOf(b, c, d));
          try {
            const result = await inner(a, b, c, d);
            hooks.onEnd(call, started, undefined);
            return result;
          } catch (error) {
            hooks.onEnd(call, started, error);
            throw error;
          }
        },
  );
}

/** The options argument: the last one given (methods take two to four arguments, options last). */
function optionsOf(b: unknown, c: unknown, d: unknown): CallOptions | undefined {
  return (d ?? c ?? b) as CallOptions | undefined;
}

/** A stream reported from its first read until it ends, fails or its consumer stops. */
async function* reported<V, T>(
  source: AsyncIterable<V>,
  call: BackendCall,
  namespace: string,
  options: CallOptions | undefined,
  hooks: BackendCallHooks<T>,
): AsyncIterable<V> {
  const started = hooks.onStart(call, namespace, options);
  let failure: unknown;
  try {
    yield* source;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    hooks.onEnd(call, started, failure);
  }
}

/**
 * Several hooks as one, so a backend gets ONE instrumented layer however many observers it has
 * (each layer costs every backend call an async frame). `onStart` runs in the order given — a
 * refusal (the circuit breaker, first) starts none of the later ones — and `onEnd` in reverse.
 * Undefined when none is set.
 *
 * @example instrumented(backend, combineHooks([breaker, tracing?.backendHooks, metrics?.backends.hooks])!)
 */
export function combineHooks(
  list: readonly (BackendCallHooks<unknown> | undefined)[],
): BackendCallHooks<unknown> | undefined {
  const hooks = list.filter((h) => h !== undefined);
  if (hooks.length <= 1) return hooks[0];
  const count = hooks.length;
  return {
    onStart(call, namespace, options) {
      const started = new Array<unknown>(count);
      for (let i = 0; i < count; i++) started[i] = hooks[i]!.onStart(call, namespace, options);
      return started;
    },
    onEnd(call, started, error) {
      const tickets = started as unknown[];
      for (let i = count - 1; i >= 0; i--) hooks[i]!.onEnd(call, tickets[i], error);
    },
  };
}
