import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack, durationMs } from "@bufbuild/protobuf/wkt";
import type { ServiceError } from "@grpc/grpc-js";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";

/** Metadata key of the serialized google.rpc.Status that carries error details. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** The machine-readable parts of a failed call. */
export interface ErrorDetails {
  reason?: string;
  domain?: string;
  metadata: Record<string, string>;
  fieldViolations: { field: string; description: string }[];
  /** From google.rpc.RetryInfo: when a call refused for load may be retried. */
  retryAfterMs?: number;
}

/**
 * Reads the `google.rpc.ErrorInfo` (and `BadRequest`) a Prism server attached to an error.
 *
 * @example
 * try { await kv.get({ namespace: "nope", id: "x" }) } catch (e) { errorDetails(e).reason } // "NAMESPACE_NOT_FOUND"
 */
export function errorDetails(error: unknown): ErrorDetails {
  const details: ErrorDetails = { metadata: {}, fieldViolations: [] };
  const raw = (error as Partial<ServiceError>)?.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!(raw instanceof Uint8Array)) return details;
  const status = fromBinary(StatusSchema, raw);
  for (const any of status.details) {
    const info = anyUnpack(any, ErrorInfoSchema);
    if (info) Object.assign(details, { reason: info.reason, domain: info.domain, metadata: info.metadata });
    const badRequest = anyUnpack(any, BadRequestSchema);
    if (badRequest) details.fieldViolations.push(...badRequest.fieldViolations);
    const retry = anyUnpack(any, RetryInfoSchema);
    if (retry?.retryDelay) details.retryAfterMs = Number(durationMs(retry.retryDelay));
  }
  return details;
}
