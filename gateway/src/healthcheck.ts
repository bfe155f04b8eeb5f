/**
 * `prism healthcheck [host:port]` (`cli.ts`): one `grpc.health.v1.Health/Check` for the whole
 * server ("") over HTTP/2, with nothing but Node's own `http2` — the container's HEALTHCHECK runs it, so it
 * must work from the pruned runtime image and cost little. Exit 0 when the answer is SERVING,
 * 1 otherwise (NOT_SERVING while the gateway drains, refused, timed out, any gRPC error).
 *
 * Address: the argument, else `PRISM_HEALTHCHECK_ADDR`, else 127.0.0.1 and the port of
 * `PRISM_GRPC_ADDR`, else 127.0.0.1:8980. With `PRISM_HEALTHCHECK_CA=/path/ca.crt` it speaks TLS
 * (server name `PRISM_HEALTHCHECK_SERVERNAME`, default localhost), for a gateway with `tls` set.
 */
import { readFileSync } from "node:fs";
import { connect, constants } from "node:http2";

/** What a health check found: the serving status by name, or why there is none. */
export type HealthAnswer =
  | { status: "SERVING" | "NOT_SERVING" | "UNKNOWN" | "SERVICE_UNKNOWN" }
  | { error: string };

const STATUS_NAMES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;

export interface HealthCheckOptions {
  /** Give up after this long (default 3000 ms). */
  timeoutMs?: number;
  /** The service to ask about; "" (default) is the whole server. */
  service?: string;
  /** PEM CA: speak TLS and trust this CA. */
  ca?: Buffer;
  servername?: string;
}

/**
 * Asks `address` (`host:port`) for its serving status.
 *
 * @example const answer = await checkHealth("127.0.0.1:8980"); // { status: "SERVING" }
 */
export function checkHealth(address: string, options: HealthCheckOptions = {}): Promise<HealthAnswer> {
  const { timeoutMs = 3000, service = "", ca, servername = "localhost" } = options;
  return new Promise((resolve) => {
    const session = connect(`${ca ? "https" : "http"}://${address}`, ca ? { ca, servername } : {});
    const done = (answer: HealthAnswer) => {
      clearTimeout(timer);
      session.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    session.on("error", (error) => done({ error: error.message }));
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: "/grpc.health.v1.Health/Check",
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = "";
    const readStatus = (headers: Record<string, unknown>) => {
      if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
      if (headers["grpc-message"] !== undefined)
        grpcMessage = decodeURIComponent(String(headers["grpc-message"]));
    };
    stream.on("response", readStatus); // a trailers-only answer carries the status here
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (error) => done({ error: error.message }));
    stream.on("end", () => {
      if (grpcStatus !== "0")
        return done({ error: `grpc-status ${grpcStatus ?? "missing"} ${grpcMessage}`.trim() });
      done(decodeStatus(Buffer.concat(chunks)));
    });
    stream.end(frame(service));
  });
}

/** A gRPC message frame holding HealthCheckRequest { service = 1 }. */
function frame(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  if (name.length > 127) throw new Error("service name too long for this probe");
  const message =
    name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** HealthCheckResponse { status = 1 (enum) } from one uncompressed frame; absent field = UNKNOWN. */
function decodeStatus(body: Buffer): HealthAnswer {
  if (body.length < 5 || body[0] !== 0) return { error: "unexpected response framing" };
  const message = body.subarray(5, 5 + body.readUInt32BE(1));
  let status = 0;
  for (let i = 0; i < message.length; ) {
    const tag = message[i++]!;
    if (tag !== 0x08) return { error: `unexpected field tag ${tag}` };
    status = message[i++]!;
  }
  return { status: STATUS_NAMES[status] ?? "UNKNOWN" };
}

function defaultAddress(env: NodeJS.ProcessEnv): string {
  if (env.PRISM_HEALTHCHECK_ADDR) return env.PRISM_HEALTHCHECK_ADDR;
  const port = env.PRISM_GRPC_ADDR?.slice(env.PRISM_GRPC_ADDR.lastIndexOf(":") + 1);
  return `127.0.0.1:${port || "8980"}`;
}

/**
 * `prism healthcheck [host:port]` (`cli.ts`): checks once, prints `address: STATUS` (or the error)
 * and resolves to the exit code — 0 when SERVING, 1 otherwise.
 */
export async function runHealthcheck(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const address = args[0] ?? defaultAddress(env);
  const caFile = env.PRISM_HEALTHCHECK_CA;
  const answer = await checkHealth(address, {
    ...(caFile && { ca: readFileSync(caFile) }),
    ...(env.PRISM_HEALTHCHECK_SERVERNAME && { servername: env.PRISM_HEALTHCHECK_SERVERNAME }),
  });
  process.stdout.write(`${address}: ${"status" in answer ? answer.status : answer.error}\n`);
  return "status" in answer && answer.status === "SERVING" ? 0 : 1;
}
