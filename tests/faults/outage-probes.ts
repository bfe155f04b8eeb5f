import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceError } from "@grpc/grpc-js";
import { errorDetails } from "@prism/proto/grpc";

/** How one gRPC call ended, and how long it took. */
export interface CallOutcome<T> {
  /** The response, when the call succeeded. */
  value?: T;
  /** The gRPC error, when it failed. */
  error?: ServiceError;
  elapsedMs: number;
}

/**
 * Runs `call` and records its outcome instead of throwing, so a test can assert on the status, the
 * ErrorInfo and the time it took.
 *
 * @example const { error, elapsedMs } = await settle(() => kv.get({ namespace, id }, { timeoutMs: 3000 }))
 */
export async function settle<T>(call: () => Promise<T>): Promise<CallOutcome<T>> {
  const started = performance.now();
  try {
    const value = await call();
    return { value, elapsedMs: performance.now() - started };
  } catch (error) {
    return { error: error as ServiceError, elapsedMs: performance.now() - started };
  }
}

/**
 * Text a driver puts in its errors that must never reach a client: socket error codes, driver
 * messages, SQL, connection URLs, credentials and the stack's ports.
 */
export const DRIVER_TEXT =
  /ECONN|EPIPE|ETIMEDOUT|terminated|timeout exceeded|socket|SELECT|INSERT|UPDATE|DELETE FROM|postgres(ql)?:\/\/|nats:\/\/|prism:prism|password|127\.0\.0\.1|15432|14222|stack|at \S+ \(/i;

/** Everything of a failed call a client can read: status text and ErrorInfo. */
export function clientVisibleText(error: ServiceError): string {
  const details = errorDetails(error);
  return [
    error.message,
    error.details,
    details.reason ?? "",
    ...Object.entries(details.metadata).flat(),
    ...details.fieldViolations.map((v) => v.description),
  ].join("\n");
}

/**
 * Calls `attempt` until it resolves, or throws the last error after `timeoutMs`.
 *
 * @example await eventually(() => kv.get({ namespace, id }, { timeoutMs: 3000 }), 30_000)
 */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs: number, pauseMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await sleep(pauseMs);
    }
  }
}
