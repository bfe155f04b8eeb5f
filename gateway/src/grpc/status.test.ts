import { status } from "@grpc/grpc-js";
import { type ErrorKind, PrismError } from "@prism/core";
import { errorDetails } from "@prism/proto/grpc";
import { describe, expect, it } from "vitest";
import { GRPC_CODE_OF_KIND, MAX_STATUS_TEXT, MAX_VIOLATIONS, toGrpcStatus } from "./status.js";

describe("error kinds → gRPC status", () => {
  // Each row pins one kind; a change of mapping must change this table.
  const table: [ErrorKind, status][] = [
    ["NotFound", status.NOT_FOUND],
    ["AlreadyExists", status.ALREADY_EXISTS],
    ["Conflict", status.ABORTED],
    ["InvalidArgument", status.INVALID_ARGUMENT],
    ["FailedPrecondition", status.FAILED_PRECONDITION],
    ["Unavailable", status.UNAVAILABLE],
    ["DeadlineExceeded", status.DEADLINE_EXCEEDED],
    ["Cancelled", status.CANCELLED],
    ["ResourceExhausted", status.RESOURCE_EXHAUSTED],
    ["PermissionDenied", status.PERMISSION_DENIED],
    ["Unauthenticated", status.UNAUTHENTICATED],
    ["Unimplemented", status.UNIMPLEMENTED],
    ["Internal", status.INTERNAL],
  ];

  it("covers every kind exactly as the table says", () => {
    expect(Object.entries(GRPC_CODE_OF_KIND).sort()).toEqual([...table].sort());
  });

  it.each(table)("%s → %s, with an ErrorInfo reason", (kind, code) => {
    const mapped = toGrpcStatus(
      new PrismError(kind, "something", { reason: "NAMESPACE_NOT_FOUND", metadata: { a: "b" } }),
    );
    expect(mapped.code).toBe(code);
    expect(errorDetails({ metadata: mapped.metadata }).reason).toBe("NAMESPACE_NOT_FOUND");
    expect(errorDetails({ metadata: mapped.metadata }).metadata).toEqual({ a: "b" });
  });

  it("hides driver errors behind a generic INTERNAL", () => {
    const mapped = toGrpcStatus(new Error('duplicate key value violates unique constraint "secret_idx"'));
    expect(mapped.code).toBe(status.INTERNAL);
    expect(mapped.details).toBe("internal error");
    const cause = toGrpcStatus(
      new PrismError("Unavailable", "backend pg is unavailable", {
        cause: new Error("ECONNREFUSED 10.0.0.1"),
      }),
    );
    expect(cause.details).toBe("backend pg is unavailable");
  });

  it("adds a BadRequest field violation for field errors", () => {
    const mapped = toGrpcStatus(new PrismError("InvalidArgument", "id: is required", { field: "id" }));
    expect(errorDetails({ metadata: mapped.metadata }).fieldViolations).toMatchObject([{ field: "id" }]);
  });

  it("bounds the text it sends, however much of the request an error quotes", () => {
    // A 320 KB backend name quoted whole made trailers past HTTP/2's limits (the fuzz test found it).
    const huge = "x".repeat(320_000);
    const mapped = toGrpcStatus(
      new PrismError("InvalidArgument", `unknown backend ${huge}`, {
        field: "shadow.backend",
        metadata: { backend: huge },
        violations: Array.from({ length: 50 }, () => ({ field: huge, description: huge })),
      }),
    );
    expect(mapped.details?.length).toBe(MAX_STATUS_TEXT);
    expect(mapped.details?.endsWith("…")).toBe(true);
    const details = errorDetails({ metadata: mapped.metadata });
    expect(details.metadata.backend?.length).toBe(MAX_STATUS_TEXT);
    expect(details.fieldViolations).toHaveLength(MAX_VIOLATIONS);
    expect(details.fieldViolations[0]?.description.length).toBe(MAX_STATUS_TEXT);
    expect((mapped.metadata!.get("grpc-status-details-bin")[0] as Buffer).length).toBeLessThan(16 << 10);
  });
});
