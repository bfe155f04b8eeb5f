import type { Dataset } from "./dataset.js";
import { GrpcJsLoadClient } from "./grpc-js-client.js";
import { H2LoadClient } from "./h2-client.js";

/** Which client library drives the gRPC load. */
export type ClientKind = "h2" | "grpc-js";

/**
 * Issues unary `KeyValueService/Get` calls spread round-robin over a few HTTP/2 connections.
 * Requests are encoded once up front and responses checked by length only, so the client spends as
 * little of the shared CPU as it can, and the same for every target.
 */
export interface KvLoadClient {
  /**
   * `Get` of record `seq % records` (or of `indices[seq % length]`) on connection `seq % channels`; rejects on an error status or
   * a response that is not the record's one item.
   *
   * @example await client.get(17)
   */
  get(seq: number): Promise<void>;
  /** Closes every connection. */
  close(): void;
}

/** Where to send the load, and what to ask for. */
export interface LoadTarget {
  /** `host:port` of a server answering KeyValueService/Get for `namespace`. */
  address: string;
  /** HTTP/2 connections to open. */
  channels: number;
  namespace: string;
  dataset: Dataset;
  /** The records call `seq` reads, as `indices[seq % length]` (default: all, in order). */
  indices?: readonly number[];
  /** Metadata sent with every call, e.g. `{ authorization: "Bearer …" }`. */
  headers?: Record<string, string>;
}

/**
 * A load client of the given kind.
 *
 * @example const client = createLoadClient("h2", { address, channels: 4, namespace: "bench-kv", dataset })
 */
export function createLoadClient(kind: ClientKind, target: LoadTarget): KvLoadClient {
  return kind === "h2" ? new H2LoadClient(target) : new GrpcJsLoadClient(target);
}
