import { status as GrpcStatus, Metadata } from "@grpc/grpc-js";
import { PrismError, REASONS } from "@prism/core";
import { describe, expect, it } from "vitest";
import { describeFailure, EXIT, EXIT_CODES, exitCodeOf, failureOf, HINTS } from "./errors.js";

/** A failed call as grpc-js reports it (without error details: the e2e tests cover those). */
function grpcError(code: GrpcStatus, details: string) {
  return Object.assign(new Error(`${code} ${GrpcStatus[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

describe("exit codes", () => {
  it.each([
    [GrpcStatus.NOT_FOUND, EXIT.NOT_FOUND],
    [GrpcStatus.PERMISSION_DENIED, EXIT.DENIED],
    [GrpcStatus.UNAUTHENTICATED, EXIT.DENIED],
    [GrpcStatus.UNAVAILABLE, EXIT.UNAVAILABLE],
    [GrpcStatus.DEADLINE_EXCEEDED, EXIT.UNAVAILABLE],
    [GrpcStatus.INVALID_ARGUMENT, EXIT.ERROR],
    [GrpcStatus.FAILED_PRECONDITION, EXIT.ERROR],
    [GrpcStatus.UNIMPLEMENTED, EXIT.ERROR],
    [GrpcStatus.INTERNAL, EXIT.ERROR],
  ])("a call failing with gRPC code %i exits %i", (code, exit) => {
    expect(exitCodeOf(failureOf(grpcError(code, "x")))).toBe(exit);
  });

  it("maps prismctl's own PrismErrors by kind, and anything else to 1", () => {
    expect(exitCodeOf(failureOf(new PrismError("Unauthenticated", "no")))).toBe(EXIT.DENIED);
    expect(exitCodeOf(failureOf(new PrismError("Unavailable", "lock")))).toBe(EXIT.UNAVAILABLE);
    expect(exitCodeOf(failureOf(new PrismError("InvalidArgument", "bad token")))).toBe(EXIT.ERROR);
    expect(failureOf(new PrismError("DeadlineExceeded", "slow")).status).toBe("DEADLINE_EXCEEDED");
    expect(exitCodeOf(failureOf(new Error("backfill failed")))).toBe(EXIT.ERROR);
  });

  it("has one row per code, 0 to 5, each naming statuses that are gRPC's", () => {
    expect(EXIT_CODES.map((row) => row.code)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const row of EXIT_CODES) for (const name of row.statuses) expect(GrpcStatus).toHaveProperty(name);
  });
});

describe("error and hint lines", () => {
  it("name the message, the reason and a hint naming the address for UNAVAILABLE", () => {
    const { lines, code } = describeFailure(grpcError(GrpcStatus.UNAVAILABLE, "No connection established"), {
      address: "127.0.0.1:1",
    });
    expect(code).toBe(EXIT.UNAVAILABLE);
    expect(lines[0]).toBe("error: No connection established (UNAVAILABLE)");
    expect(lines[1]).toMatch(/^hint: is a gateway listening on 127\.0\.0\.1:1\? start one with `pnpm start`/);
  });

  it("say where a namespace that does not exist came from", () => {
    const failure = { ...failureOf(grpcError(GrpcStatus.NOT_FOUND, "nope")), reason: "NAMESPACE_NOT_FOUND" };
    const hint = HINTS.NAMESPACE_NOT_FOUND!(failure, {
      address: "a",
      namespace: { name: "old-ns", from: 'context "dev"' },
    });
    expect(hint).toBe(
      '`prismctl namespace list` shows the namespaces (old-ns came from context "dev"; pass NAMESPACE or -n to choose another)',
    );
  });

  it("name the access and namespace refused, and the admin method", () => {
    const denied = { message: "", metadata: { namespace: "orders", access: "write" }, violations: [] };
    expect(HINTS.ACCESS_DENIED!(denied, { address: "a" })).toMatch(
      /^you need write access to orders: its access\.write list must name you/,
    );
    const admin = { message: "", metadata: { method: "ListNamespaces" }, violations: [] };
    expect(HINTS.ADMIN_REQUIRED!(admin, { address: "a" })).toMatch(
      /^ListNamespaces needs membership in one of the gateway's auth\.adminGroups/,
    );
  });

  it("are keyed only by reasons Prism sends or gRPC status names (no typo hides a hint)", () => {
    const known = new Set([...Object.keys(REASONS), ...Object.keys(GrpcStatus)]);
    expect(Object.keys(HINTS).filter((key) => !known.has(key))).toEqual([]);
  });
});
