import { type ClientHttp2Session, connect, constants } from "node:http2";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { encodedRequests, expectedResponse } from "./dataset.js";
import type { KvLoadClient, LoadTarget } from "./load-client.js";

/**
 * The request headers of a unary gRPC call of `method` on KeyValueService.
 *
 * @example session.request(kvHeaders("Put"))
 */
export function kvHeaders(method: string): Record<string, string> {
  return {
    [constants.HTTP2_HEADER_METHOD]: "POST",
    [constants.HTTP2_HEADER_PATH]: `/${KeyValueService.typeName}/${method}`,
    [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
    [constants.HTTP2_HEADER_TE]: "trailers",
  };
}

const GET_HEADERS = kvHeaders("Get");

/** How a unary call over bare HTTP/2 ended. */
export interface H2UnaryResult {
  /** `grpc-status`, undefined when the stream ended without one. */
  status: string | undefined;
  /** `grpc-message` (decoded), or the stream error, or the reset code. */
  message: string;
  /** Bytes of response DATA: 5-byte gRPC frame headers plus messages. */
  bytes: number;
}

/**
 * One unary gRPC call on `session` with an already framed body (see `frame`); never rejects.
 *
 * @example const { status } = await h2Unary(session, kvHeaders("Put"), frame(bytes))
 */
export function h2Unary(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body: Buffer,
): Promise<H2UnaryResult> {
  return new Promise((resolve) => {
    const stream = session.request(headers);
    let bytes = 0;
    let status: string | undefined;
    let message: string | undefined;
    const readStatus = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) {
        status = String(h["grpc-status"]);
        message = h["grpc-message"] === undefined ? undefined : decode(String(h["grpc-message"]));
      }
    };
    stream.on("response", readStatus);
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    stream.on("error", (error) => {
      message ??= error.message;
    });
    stream.on("close", () =>
      resolve({ status, message: message ?? `(stream reset ${stream.rstCode})`, bytes }),
    );
    stream.end(body);
  });
}

/**
 * The load client on bare `node:http2`, speaking the gRPC wire protocol itself: pre-framed request
 * bodies, `grpc-status` from the trailers (or a trailers-only response). It skips grpc-js's
 * client-side layers (call objects, filters, deadline and metadata handling), which cost more CPU
 * per call than a whole grpc-js server, so on a small machine more CPU is left to the server
 * being measured.
 */
export class H2LoadClient implements KvLoadClient {
  private readonly sessions: ClientHttp2Session[];
  private readonly frames: Buffer[];
  /** Bytes of a correct answer's DATA: the 5-byte gRPC frame header plus the message. */
  private readonly expectedBytes: number;
  private readonly headers: Record<string, string>;

  constructor(target: LoadTarget) {
    this.headers = target.headers ? { ...GET_HEADERS, ...target.headers } : GET_HEADERS;
    this.sessions = Array.from({ length: target.channels }, () => {
      const session = connect(`http://${target.address}`);
      // Failures surface on each call's stream; an unhandled session 'error' would crash the bench.
      session.on("error", () => undefined);
      return session;
    });
    this.frames = encodedRequests(target.namespace, target.dataset, target.indices).map(frame);
    this.expectedBytes = 5 + expectedResponse(0, target.dataset).length;
  }

  async get(seq: number): Promise<void> {
    const session = this.sessions[seq % this.sessions.length]!;
    const body = this.frames[seq % this.frames.length]!;
    const { status, message, bytes } = await h2Unary(session, this.headers, body);
    if (status === "0" && bytes === this.expectedBytes) return;
    if (status === "0") throw new Error(`unexpected response of ${bytes} bytes`);
    throw new Error(`${status ?? "no status"} ${message}`);
  }

  close(): void {
    for (const session of this.sessions) session.close();
  }
}

/**
 * A message with its gRPC length prefix: uncompressed flag, 4-byte big-endian length.
 *
 * @example frame(toBinary(PutRequestSchema, request))
 */
export function frame(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** `grpc-message` is percent-encoded on the wire. */
function decode(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}
