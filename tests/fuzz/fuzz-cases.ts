import type { DescMethod } from "@bufbuild/protobuf";
import fc from "fast-check";
import { type MessagePools, wellFormed } from "./message-arbitrary.js";
import type { RawCall } from "./raw-calls.js";
import { garbage, mutated } from "./wire-arbitrary.js";

/** What kind of request bytes a case sends (for the report and for per-kind expectations). */
export type InputKind = "valid" | "mutated" | "garbage" | "oversized";

/** One generated call. */
export interface FuzzCase extends RawCall {
  kind: InputKind;
}

const printable = (min: number, max: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: min,
    maxLength: max,
  });

/** Header names: mostly valid (`[0-9a-z_.-]`), sometimes not (grpc-js refuses those: not sent). */
const headerName = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z0-9_.-]{1,30}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "authorization",
      "traceparent",
      "tracestate",
      "grpc-timeout",
      "grpc-encoding",
      "grpc-accept-encoding",
      "user-agent",
      "x-request-id",
      "idempotency-key",
      "x-prism-namespace",
      "grpc-status",
      "grpc-message",
      "te",
    ),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
);

const headerValue = fc.oneof(
  { weight: 8, arbitrary: printable(0, 60) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  // Huge values, up to 60 KiB: one header field much past 64 KiB is an HPACK error in Node's
  // HTTP/2 layer (nghttp2), which drops the whole connection before the gateway sees the call.
  { weight: 1, arbitrary: fc.integer({ min: 4 << 10, max: 60 << 10 }).map((n) => "v".repeat(n)) },
);

const traceparent = fc.oneof(
  printable(0, 80),
  fc.constantFrom(
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-00000000000000000000000000000000-0000000000000000-01",
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
    "00-ZZZZ651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  ),
);

const authorization = fc.oneof(
  printable(0, 60),
  printable(0, 200).map((token) => `Bearer ${token}`),
  fc.constantFrom("Bearer", "Bearer ", "bearer x.y.z", "Basic dXNlcjpwYXNz", "Bearer a.b.c.d.e"),
  fc.integer({ min: 8 << 10, max: 40 << 10 }).map((n) => `Bearer ${"a".repeat(n)}`),
);

const metadataArb: fc.Arbitrary<RawCall["metadata"]> = fc
  .tuple(
    fc.array(
      fc.oneof(
        { weight: 5, arbitrary: fc.tuple(headerName, headerValue) },
        {
          weight: 1,
          arbitrary: fc.tuple(
            headerName.map((name) => `${name}-bin`),
            fc.uint8Array({ maxLength: 64 }),
          ),
        },
      ),
      { maxLength: 4 },
    ),
    fc.option(authorization, { freq: 4 }),
    fc.option(traceparent, { freq: 4 }),
  )
  .map(([pairs, auth, trace]) =>
    withinHeaderBlock([
      ...pairs,
      ...(auth === null ? [] : [["authorization", auth] as [string, string]]),
      ...(trace === null ? [] : [["traceparent", trace] as [string, string]]),
    ]),
  );

/**
 * The whole header block of one call, at most 128 KiB: Node's HTTP/2 layer ends the connection
 * (GOAWAY, INTERNAL_ERROR; measured between 160 and 192 KiB of headers) before the gateway sees
 * a larger one, failing every call in flight on it — the client's own connection, like the
 * 64 KiB limit of one header field above. Pairs past the bound are left out.
 */
const MAX_HEADER_BLOCK = 128 << 10;

function withinHeaderBlock(pairs: RawCall["metadata"]): RawCall["metadata"] {
  let size = 0;
  return pairs.filter(([name, value]) => {
    size += name.length + value.length;
    return size <= MAX_HEADER_BLOCK;
  });
}

/** Deadlines: mostly enough, sometimes tiny (the call races its own deadline). */
const deadlineMs = fc.oneof(
  { weight: 6, arbitrary: fc.constant(3000) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 2000 }) },
);

/** Above the gateway's receive limit: RESOURCE_EXHAUSTED before decoding. */
function oversized(receiveLimit: number): fc.Arbitrary<Uint8Array> {
  return fc
    .integer({ min: 1, max: 256 << 10 })
    .map((extra) => new Uint8Array(receiveLimit + extra).fill(0x41));
}

function requestBytes(method: DescMethod, pools: MessagePools, receiveLimit: number) {
  const valid = wellFormed(method.input, pools);
  return fc.oneof(
    { weight: 45, arbitrary: valid.map((bytes) => ({ kind: "valid" as const, bytes })) },
    { weight: 30, arbitrary: mutated(valid).map((bytes) => ({ kind: "mutated" as const, bytes })) },
    { weight: 24, arbitrary: garbage.map((bytes) => ({ kind: "garbage" as const, bytes })) },
    { weight: 1, arbitrary: oversized(receiveLimit).map((bytes) => ({ kind: "oversized" as const, bytes })) },
  );
}

/**
 * Cases over every method in `methods`, chosen uniformly: request bytes (well-formed, mutated,
 * garbage or oversized; bidi streams get one to three of them), metadata and a deadline.
 */
export function fuzzCases(
  methods: readonly DescMethod[],
  pools: MessagePools,
  receiveLimit: number,
): fc.Arbitrary<FuzzCase> {
  const perMethod = methods.map((method) => {
    const request = requestBytes(method, pools, receiveLimit);
    const requests =
      method.methodKind === "bidi_streaming"
        ? fc.array(request, { minLength: 1, maxLength: 3 })
        : request.map((one) => [one]);
    return fc.record({ requests, metadata: metadataArb, deadlineMs }).map(
      ({ requests: sent, metadata, deadlineMs: ms }): FuzzCase => ({
        method,
        messages: sent.map((r) => r.bytes),
        // The case's kind is its worst request's.
        kind: sent.map((r) => r.kind).sort((a, b) => KIND_ORDER[b] - KIND_ORDER[a])[0]!,
        metadata,
        deadlineMs: ms,
      }),
    );
  });
  return fc.oneof(...perMethod);
}

const KIND_ORDER: Record<InputKind, number> = { valid: 0, mutated: 1, garbage: 2, oversized: 3 };
