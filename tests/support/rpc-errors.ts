import type { ServiceError, status } from "@grpc/grpc-js";
import { type ErrorDetails, errorDetails } from "@prism/proto/grpc";
import { expect } from "vitest";

/** A failed call's status, message and the ErrorInfo/BadRequest details the gateway attached. */
export interface RpcFailure {
  code: status;
  /** The status message (`details` in grpc-js terms). */
  message: string;
  details: ErrorDetails;
}

/**
 * Awaits a call that must fail and returns its status; fails the test if it succeeded.
 *
 * @example const { details } = await rpcFailure(kv.get({ namespace: "nope", id: "x" }), status.NOT_FOUND);
 */
export async function rpcFailure(call: Promise<unknown>, code?: status): Promise<RpcFailure> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e as ServiceError,
  );
  expect(error, "the call should have failed").toBeDefined();
  const failure = { code: error!.code, message: error!.details, details: errorDetails(error) };
  if (code !== undefined) expect(failure, failure.message).toMatchObject({ code });
  return failure;
}
