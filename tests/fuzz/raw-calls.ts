import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Client, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";

/**
 * Calls with exact wire bytes: a grpc-js client with identity serializers (the message bytes are
 * ours, grpc-js adds only the 5-byte frame header), for every kind of method the gateway serves.
 */

/** One fuzzed call: the method, its request message(s) and metadata, and its deadline. */
export interface RawCall {
  method: DescMethod;
  /** One message for unary and server-streaming methods; any number for bidi streams. */
  messages: Uint8Array[];
  /** Header name and value pairs (`-bin` names take bytes); invalid ones are refused by grpc-js. */
  metadata: [string, string | Uint8Array][];
  deadlineMs: number;
}

/**
 * How a call ended. `notSent`: grpc-js refused its metadata client-side. `cancelled`: a stream
 * still open when the fuzzer stopped waiting (its code is then CANCELLED, of the client's own).
 */
export type Outcome =
  | { kind: "status"; code: status; details: string; messages: number }
  | { kind: "cancelled"; messages: number }
  | { kind: "notSent"; reason: string };

const identity = (bytes: Buffer) => bytes;

/** A server stream still open after this long (or after its first answer) is cancelled by us. */
const STREAM_WINDOW_MS = 250;

/**
 * A raw client on a connection of its own (grpc-js shares connections between clients unless
 * told otherwise), with no size limits of its own, so oversized requests reach the gateway.
 */
export function rawClient(address: string): Client {
  return new Client(address, credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1,
    "grpc.use_local_subchannel_pool": 1,
  });
}

/** The gRPC path of a method, e.g. `/prism.keyvalue.v1.KeyValueService/Get`. */
export const pathOf = (method: DescMethod) => `/${method.parent.typeName}/${method.name}`;

/** Every method of every service, in the order given. */
export const methodsOf = (services: readonly DescService[]): DescMethod[] =>
  services.flatMap((s) => s.methods);

function metadataOf(pairs: RawCall["metadata"]): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of pairs) {
    // grpc-js would refuse the call itself (as INTERNAL) when it is about to send it.
    if (key === "authorization" && metadata.get(key).length > 0)
      throw new Error("second authorization header");
    // grpc-js lets `:` through (pseudo-headers), Node's HTTP/2 client then fails the connection.
    if (key.includes(":")) throw new Error(`${key} is not an HTTP/2 header name`);
    metadata.add(key, typeof value === "string" ? value : Buffer.from(value));
  }
  return metadata;
}

/** Makes the call and resolves with how it ended (never rejects). */
export function callRaw(client: Client, call: RawCall): Promise<Outcome> {
  let metadata: Metadata;
  try {
    metadata = metadataOf(call.metadata);
  } catch (error) {
    return Promise.resolve({ kind: "notSent", reason: (error as Error).message });
  }
  const path = pathOf(call.method);
  const options = { deadline: Date.now() + call.deadlineMs };
  const buffers = call.messages.map((m) => Buffer.from(m.buffer, m.byteOffset, m.byteLength));
  return new Promise<Outcome>((resolve) => {
    let messages = 0;
    let cancelledByUs = false;
    const done = (error: Partial<ServiceError> | null) => {
      const code = error?.code ?? status.OK;
      if (cancelledByUs && code === status.CANCELLED) resolve({ kind: "cancelled", messages });
      else resolve({ kind: "status", code, details: error?.details ?? "", messages });
    };
    try {
      switch (call.method.methodKind) {
        case "unary":
          client.makeUnaryRequest(path, identity, identity, buffers[0]!, metadata, options, (error) =>
            done(error),
          );
          return;
        case "server_streaming":
        case "bidi_streaming": {
          const duplex =
            call.method.methodKind === "bidi_streaming"
              ? client.makeBidiStreamRequest(path, identity, identity, metadata, options)
              : undefined;
          const stream =
            duplex ??
            client.makeServerStreamRequest(path, identity, identity, buffers[0]!, metadata, options);
          const cancel = () => {
            cancelledByUs = true;
            stream.cancel();
          };
          const timer = setTimeout(cancel, STREAM_WINDOW_MS);
          stream.on("data", () => {
            messages++;
            // Watch and Tail never end on their own: one answer shows the stream works.
            if (messages === 1) setTimeout(cancel, 20);
          });
          stream.on("error", () => {});
          stream.on("status", (s) => {
            clearTimeout(timer);
            done(s.code === status.OK ? null : s);
          });
          if (duplex) {
            for (const buffer of buffers) duplex.write(buffer);
            duplex.end();
          }
          return;
        }
        default:
          resolve({ kind: "notSent", reason: `${call.method.methodKind} is not fuzzed` });
      }
    } catch (error) {
      resolve({ kind: "notSent", reason: (error as Error).message });
    }
  });
}
