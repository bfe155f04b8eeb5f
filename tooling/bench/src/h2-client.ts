import { type ClientHttp2Session, connect, constants } from "node:http2";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { encodedRequests, expectedResponse } from "./dataset.js";
import type { KvLoadClient, LoadTarget } from "./load-client.js";

const REQUEST_HEADERS = {
  [constants.HTTP2_HEADER_METHOD]: "POST",
  [constants.HTTP2_HEADER_PATH]: `/${KeyValueService.typeName}/Get`,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
  [constants.HTTP2_HEADER_TE]: "trailers",
};

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

  constructor(target: LoadTarget) {
    this.sessions = Array.from({ length: target.channels }, () => {
      const session = connect(`http://${target.address}`);
      // Failures surface on each call's stream; an unhandled session 'error' would crash the bench.
      session.on("error", () => undefined);
      return session;
    });
    this.frames = encodedRequests(target.namespace, target.dataset).map(frame);
    this.expectedBytes = 5 + expectedResponse(0, target.dataset).length;
  }

  get(seq: number): Promise<void> {
    const session = this.sessions[seq % this.sessions.length]!;
    const body = this.frames[seq % this.frames.length]!;
    return new Promise((resolve, reject) => {
      const stream = session.request(REQUEST_HEADERS);
      let bytes = 0;
      let status: string | undefined;
      let message: string | undefined;
      const readStatus = (headers: Record<string, unknown>) => {
        if (headers["grpc-status"] !== undefined) {
          status = String(headers["grpc-status"]);
          message =
            headers["grpc-message"] === undefined ? undefined : decode(String(headers["grpc-message"]));
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
      stream.on("close", () => {
        if (status === "0" && bytes === this.expectedBytes) resolve();
        else if (status === "0") reject(new Error(`unexpected response of ${bytes} bytes`));
        else reject(new Error(`${status ?? "no status"} ${message ?? `(stream reset ${stream.rstCode})`}`));
      });
      stream.end(body);
    });
  }

  close(): void {
    for (const session of this.sessions) session.close();
  }
}

/** A message with its gRPC length prefix: uncompressed flag, 4-byte big-endian length. */
function frame(message: Uint8Array): Buffer {
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
