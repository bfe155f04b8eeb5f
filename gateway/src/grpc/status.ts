import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack, durationFromMs } from "@bufbuild/protobuf/wkt";
import { status as GrpcCode, Metadata, type StatusObject } from "@grpc/grpc-js";
import { type ErrorKind, isPrismError, PrismError } from "@prism/core";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "@prism/proto/google/rpc/error_details";
import { StatusSchema } from "@prism/proto/google/rpc/status";
import { STATUS_DETAILS_KEY } from "@prism/proto/grpc";

/** The domain of every ErrorInfo Prism sends. */
export const ERROR_DOMAIN = "prism.dev";

/**
 * The one mapping from error kinds to gRPC status codes. Each kind is pinned by a case in
 * `status.test.ts`.
 */
export const GRPC_CODE_OF_KIND: Readonly<Record<ErrorKind, GrpcCode>> = Object.freeze({
  NotFound: GrpcCode.NOT_FOUND,
  AlreadyExists: GrpcCode.ALREADY_EXISTS,
  Conflict: GrpcCode.ABORTED,
  InvalidArgument: GrpcCode.INVALID_ARGUMENT,
  FailedPrecondition: GrpcCode.FAILED_PRECONDITION,
  Unavailable: GrpcCode.UNAVAILABLE,
  DeadlineExceeded: GrpcCode.DEADLINE_EXCEEDED,
  Cancelled: GrpcCode.CANCELLED,
  ResourceExhausted: GrpcCode.RESOURCE_EXHAUSTED,
  PermissionDenied: GrpcCode.PERMISSION_DENIED,
  Unauthenticated: GrpcCode.UNAUTHENTICATED,
  Unimplemented: GrpcCode.UNIMPLEMENTED,
  Internal: GrpcCode.INTERNAL,
});

/**
 * Longest text of a status (its message, each metadata value and field violation) in characters,
 * and most field violations sent. Messages may quote what the client sent (an unknown backend's
 * name, a namespace): unbounded, a huge one made trailers past HTTP/2's header limits, and the
 * client's connection was dropped with every call on it.
 */
export const MAX_STATUS_TEXT = 512;
export const MAX_VIOLATIONS = 10;

/** `text` cut to `MAX_STATUS_TEXT` characters (an ellipsis marks the cut). */
function clip(text: string): string {
  return text.length <= MAX_STATUS_TEXT ? text : `${text.slice(0, MAX_STATUS_TEXT - 1)}…`;
}

/**
 * Turns anything thrown inside a handler into a gRPC status with a `google.rpc.Status` detail
 * (ErrorInfo, and BadRequest for a field error). Errors that are not PrismErrors become INTERNAL
 * with a generic message: driver text and stacks never reach the client.
 */
export function toGrpcStatus(error: unknown): Partial<StatusObject> {
  const prismError = isPrismError(error)
    ? error
    : new PrismError("Internal", "internal error", { cause: error, reason: "INTERNAL" });
  const code = GRPC_CODE_OF_KIND[prismError.kind];
  const message = clip(prismError.message);
  const metadataOfError: Record<string, string> = {};
  for (const [key, value] of Object.entries(prismError.metadata)) metadataOfError[clip(key)] = clip(value);
  const details = [
    anyPack(
      ErrorInfoSchema,
      create(ErrorInfoSchema, {
        reason: prismError.reason,
        domain: ERROR_DOMAIN,
        metadata: metadataOfError,
      }),
    ),
  ];
  const violations = [
    ...(prismError.field ? [{ field: prismError.field, description: prismError.message }] : []),
    ...prismError.violations,
  ]
    .slice(0, MAX_VIOLATIONS)
    .map(({ field, description }) => ({ field: clip(field), description: clip(description) }));
  if (violations.length > 0) {
    details.push(anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations: violations })));
  }
  const retryAfterMs = prismError.retryAfterMs;
  if (retryAfterMs !== undefined) {
    details.push(
      anyPack(
        RetryInfoSchema,
        create(RetryInfoSchema, { retryDelay: durationFromMs(Math.max(0, retryAfterMs)) }),
      ),
    );
  }
  const metadata = new Metadata();
  if (retryAfterMs !== undefined)
    metadata.set("retry-after-ms", String(Math.max(0, Math.ceil(retryAfterMs))));
  const status = create(StatusSchema, { code, message, details });
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(toBinary(StatusSchema, status)));
  return { code, details: message, metadata };
}
