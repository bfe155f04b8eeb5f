import { status as GrpcCode } from "@grpc/grpc-js";
import { errorDetails } from "@prism/proto/grpc";
import type { ApiError } from "./api-types.js";

/** gRPC code → its name, as the API reports it. */
const CODE_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, code] of Object.entries(GrpcCode)) if (typeof code === "number") names[code] = name;
  return names;
})();

/** gRPC code → HTTP status (google.rpc's own mapping, as grpc-gateway uses it). */
const HTTP_OF_CODE: Record<number, number> = {
  [GrpcCode.CANCELLED]: 499,
  [GrpcCode.UNKNOWN]: 500,
  [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504,
  [GrpcCode.NOT_FOUND]: 404,
  [GrpcCode.ALREADY_EXISTS]: 409,
  [GrpcCode.PERMISSION_DENIED]: 403,
  [GrpcCode.RESOURCE_EXHAUSTED]: 429,
  [GrpcCode.FAILED_PRECONDITION]: 412,
  [GrpcCode.ABORTED]: 409,
  [GrpcCode.OUT_OF_RANGE]: 400,
  [GrpcCode.UNIMPLEMENTED]: 501,
  [GrpcCode.INTERNAL]: 500,
  [GrpcCode.UNAVAILABLE]: 503,
  [GrpcCode.DATA_LOSS]: 500,
  [GrpcCode.UNAUTHENTICATED]: 401,
};

/** What an operator can do about a reason the UI cannot fix itself. */
const HINTS: Record<string, string> = {
  UNAVAILABLE: "Is the gateway running? The admin UI reaches it over gRPC.",
  UNAUTHENTICATED: "Sign in again.",
  ADMIN_REQUIRED: "Ask for membership in one of the gateway's auth.adminGroups.",
  SHADOW_PROMOTE_UNSAFE: "Finish the backfill and verify first, or confirm with force.",
  METRICS_DISABLED: "Set metrics.enabled in the gateway config.",
};

/** An error the API answers with: HTTP status and body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(body.error.message);
  }

  /** An error of the admin server itself (not from the gateway). */
  static of(status: number, code: string, message: string, reason?: string): HttpError {
    return new HttpError(status, {
      error: { code, message, violations: [], ...(reason && { reason }) },
    });
  }
}

/**
 * A failed AdminService call as the API reports it: the gRPC code's name, the status message the
 * gateway chose for clients (never driver text), ErrorInfo's reason, BadRequest's violations.
 */
export function fromGrpcError(error: unknown): HttpError {
  const { code, details } = error as { code?: number; details?: string };
  if (typeof code !== "number") return HttpError.of(500, "INTERNAL", "internal error");
  const info = errorDetails(error);
  const name = CODE_NAMES[code] ?? "UNKNOWN";
  const hint = HINTS[info.reason ?? ""] ?? HINTS[name];
  return new HttpError(HTTP_OF_CODE[code] ?? 500, {
    error: {
      code: name,
      message: details || name,
      ...(info.reason && { reason: info.reason }),
      violations: info.fieldViolations.map(({ field, description }) => ({ field, description })),
      ...(hint && { hint }),
    },
  });
}
