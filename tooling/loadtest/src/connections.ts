import {
  create,
  type DescMessage,
  type DescMethod,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { Client, type ClientReadableStream, credentials, Metadata, status } from "@grpc/grpc-js";
import { deserializer, serializer } from "@prism/proto/grpc";

/** A method's path and codecs, made once per method (no per-request allocation of them). */
interface Codec {
  readonly path: string;
  readonly serialize: (message: never) => Buffer;
  readonly deserialize: (bytes: Buffer) => unknown;
}

/** Milliseconds a load request may take before it fails with DEADLINE_EXCEEDED. */
const DEADLINE_MS = 30_000;

/**
 * `count` HTTP/2 connections to one gateway; request `seq` goes on connection `seq % count`.
 * Each connection is its own grpc-js channel with a local subchannel pool (otherwise grpc-js would
 * share one connection per address). Messages use the same codecs as `createPromiseClient`,
 * including the hand-written ones for TimeSeries and Graph answers.
 *
 * @example const connections = new GatewayConnections("127.0.0.1:8980", 2); await connections.unary(0, KeyValueService.method.get, { namespace, id })
 */
export class GatewayConnections {
  private readonly channels: Client[];
  private readonly codecs = new Map<DescMethod, Codec>();
  private readonly metadata = new Metadata();

  constructor(
    readonly address: string,
    count: number,
  ) {
    this.channels = Array.from(
      { length: count },
      () =>
        new Client(address, credentials.createInsecure(), {
          "grpc.use_local_subchannel_pool": 1,
          "grpc.max_receive_message_length": 64 << 20,
          "grpc.max_send_message_length": 64 << 20,
        }),
    );
  }

  /** One unary call on connection `seq % count`; rejects with the grpc-js error (it has `code`). */
  unary<I extends DescMessage, O extends DescMessage>(
    seq: number,
    method: DescMethod & { input: I; output: O },
    request: MessageInitShape<I>,
  ): Promise<MessageShape<O>> {
    const codec = this.codec(method);
    const channel = this.channels[seq % this.channels.length]!;
    return new Promise((resolve, reject) => {
      channel.makeUnaryRequest(
        codec.path,
        codec.serialize as (message: MessageShape<I>) => Buffer,
        codec.deserialize as (bytes: Buffer) => MessageShape<O>,
        create(method.input, request),
        this.metadata,
        { deadline: Date.now() + DEADLINE_MS },
        (error, response) => (error ? reject(error) : resolve(response!)),
      );
    });
  }

  /**
   * A server-streaming call: `onMessage` gets each message and returns false to stop early (the call
   * is then cancelled, which is not an error). Resolves with the messages seen.
   */
  stream<I extends DescMessage, O extends DescMessage>(
    seq: number,
    method: DescMethod & { input: I; output: O },
    request: MessageInitShape<I>,
    onMessage: (message: MessageShape<O>) => boolean = () => true,
  ): Promise<number> {
    const codec = this.codec(method);
    const channel = this.channels[seq % this.channels.length]!;
    return new Promise((resolve, reject) => {
      const call: ClientReadableStream<MessageShape<O>> = channel.makeServerStreamRequest(
        codec.path,
        codec.serialize as (message: MessageShape<I>) => Buffer,
        codec.deserialize as (bytes: Buffer) => MessageShape<O>,
        create(method.input, request),
        this.metadata,
        { deadline: Date.now() + DEADLINE_MS },
      );
      let seen = 0;
      let stopped = false;
      call.on("data", (message: MessageShape<O>) => {
        seen++;
        if (!stopped && !onMessage(message)) {
          stopped = true;
          call.cancel();
          resolve(seen);
        }
      });
      call.on("error", (error: { code?: number }) => {
        if (!(stopped && error.code === status.CANCELLED)) reject(error);
      });
      call.on("end", () => resolve(seen));
    });
  }

  close(): void {
    for (const channel of this.channels) channel.close();
  }

  private codec(method: DescMethod): Codec {
    let codec = this.codecs.get(method);
    if (!codec) {
      codec = {
        path: `/${method.parent.typeName}/${method.name}`,
        serialize: serializer(method.input) as (message: never) => Buffer,
        deserialize: deserializer(method.output),
      };
      this.codecs.set(method, codec);
    }
    return codec;
  }
}
