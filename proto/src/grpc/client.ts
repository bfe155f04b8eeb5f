import { create, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { type CallOptions, type ChannelCredentials, Client, credentials, Metadata } from "@grpc/grpc-js";
import { deserializer, serializer } from "./service-definition.js";

/** Per-call options of a {@link PromiseClient} method. */
export interface RpcOptions {
  /** Milliseconds until the call's deadline. */
  timeoutMs?: number;
  /** Extra request metadata, e.g. `{ authorization: "Bearer …" }`. */
  headers?: Record<string, string>;
  /** Cancels the call. */
  signal?: AbortSignal;
}

type UnaryMethod<I extends DescMessage, O extends DescMessage> = (
  request: MessageInitShape<I>,
  options?: RpcOptions,
) => Promise<MessageShape<O>>;

type ServerStreamMethod<I extends DescMessage, O extends DescMessage> = (
  request: MessageInitShape<I>,
  options?: RpcOptions,
) => AsyncIterable<MessageShape<O>>;

/** A client whose unary methods return promises and server-streaming methods async iterables. */
export type PromiseClient<S extends GenServiceMethods> = {
  [K in keyof S]: S[K]["methodKind"] extends "unary"
    ? UnaryMethod<S[K]["input"], S[K]["output"]>
    : S[K]["methodKind"] extends "server_streaming"
      ? ServerStreamMethod<S[K]["input"], S[K]["output"]>
      : never;
};

/** Where and how a client connects. */
export interface ClientTarget {
  /** `host:port`, e.g. `127.0.0.1:8980`. */
  address: string;
  /** Defaults to insecure (plaintext), which is what a loopback gateway serves. */
  credentials?: ChannelCredentials;
  /** Headers sent with every call (per-call headers win). */
  headers?: Record<string, string>;
}

/**
 * Creates a promise-based gRPC client for a generated service.
 *
 * @example
 * const kv = createPromiseClient(KeyValueService, { address: "127.0.0.1:8980" });
 * await kv.put({ namespace: "demo-kv", id: "user-1", items: [{ key: new Uint8Array(), value }] });
 */
export function createPromiseClient<S extends GenServiceMethods>(
  service: GenService<S>,
  target: ClientTarget,
): PromiseClient<S> & { close(): void } {
  const channel = new Client(target.address, target.credentials ?? credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
  const client: Record<string, unknown> = { close: () => channel.close() };
  for (const method of service.methods) {
    const path = `/${service.typeName}/${method.name}`;
    const serialize = serializer(method.input);
    const deserialize = deserializer(method.output);
    const prepare = (request: MessageInitShape<DescMessage>, options: RpcOptions = {}) => {
      const metadata = new Metadata();
      for (const [name, value] of Object.entries({ ...target.headers, ...options.headers })) {
        metadata.set(name, value);
      }
      const callOptions: CallOptions = {};
      if (options.timeoutMs !== undefined) callOptions.deadline = Date.now() + options.timeoutMs;
      return { message: create(method.input, request), metadata, callOptions };
    };
    if (method.methodKind === "unary") {
      client[method.localName] = (request: MessageInitShape<DescMessage>, options?: RpcOptions) =>
        new Promise((resolve, reject) => {
          const { message, metadata, callOptions } = prepare(request, options);
          const call = channel.makeUnaryRequest(
            path,
            serialize,
            deserialize,
            message,
            metadata,
            callOptions,
            (error, response) => (error ? reject(error) : resolve(response)),
          );
          options?.signal?.addEventListener("abort", () => call.cancel(), { once: true });
        });
    } else if (method.methodKind === "server_streaming") {
      client[method.localName] = (request: MessageInitShape<DescMessage>, options?: RpcOptions) => {
        const { message, metadata, callOptions } = prepare(request, options);
        const call = channel.makeServerStreamRequest(
          path,
          serialize,
          deserialize,
          message,
          metadata,
          callOptions,
        );
        options?.signal?.addEventListener("abort", () => call.cancel(), { once: true });
        return call as AsyncIterable<MessageShape<DescMessage>>;
      };
    }
  }
  return client as PromiseClient<S> & { close(): void };
}
