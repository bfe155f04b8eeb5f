import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { status as GrpcCode, Metadata, type StatusObject } from "@grpc/grpc-js";
import { type ErrorKind, isPrismError, PrismError } from "@prism/core";
import { BadRequestSchema, ErrorInfoSchema } from "@prism/proto/google/rpc/error_details";
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
 * Turns anything thrown inside a handler into a gRPC status with a `google.rpc.Status` detail
 * (ErrorInfo, and BadRequest for a field error). Errors that are not PrismErrors become INTERNAL
 * with a generic message: driver text and stacks never reach the client.
 */
export function toGrpcStatus(error: unknown): Partial<StatusObject> {
  const prismError = isPrismError(error)
    ? error
    : new PrismError("Internal", "internal error", { cause: error, reason: "INTERNAL" });
  const code = GRPC_CODE_OF_KIND[prismError.kind];
  const details = [
    anyPack(
      ErrorInfoSchema,
      create(ErrorInfoSchema, {
        reason: prismError.reason,
        domain: ERROR_DOMAIN,
        metadata: prismError.metadata,
      }),
    ),
  ];
  const violations = [
    ...(prismError.field ? [{ field: prismError.field, description: prismError.message }] : []),
    ...prismError.violations,
  ];
  if (violations.length > 0) {
    details.push(anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations: violations })));
  }
  const metadata = new Metadata();
  const status = create(StatusSchema, { code, message: prismError.message, details });
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(toBinary(StatusSchema, status)));
  return { code, details: prismError.message, metadata };
}
