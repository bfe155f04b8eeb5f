import type { Http2Server, Http2Session } from "node:http2";
import type { Server } from "@grpc/grpc-js";
import type { Logger } from "../log.js";

/** What each HTTP/2 connection lets a client send before the gateway has read it. */
export const FLOW_CONTROL = Object.freeze({
  /** Per stream (SETTINGS_INITIAL_WINDOW_SIZE; HTTP/2's default is 64 KiB). */
  streamWindowBytes: 1 << 20,
  /** Per connection, over all its streams (HTTP/2's default is 64 KiB). */
  connectionWindowBytes: 8 << 20,
});

/**
 * Widens the HTTP/2 flow-control windows of every connection the gateway accepts. grpc-js keeps
 * HTTP/2's 64 KiB defaults and offers no server option for them, so a 150 KB TimeSeries batch had
 * to wait twice for the gateway's event loop to send WINDOW_UPDATE before it finished arriving,
 * while the loop was busy with other batches (`pnpm bench ts --backend postgres`: about +15 %
 * events/s through the gateway at batches of 1,000). Message sizes stay bounded by
 * `grpc.max_receive_message_length`; this only lets a bounded message arrive without stalls.
 *
 * Reads grpc-js's HTTP/2 servers from its private `http2Servers` map (after `bindAsync`): if a
 * grpc-js release renames it, the gateway logs that and keeps the defaults, and a test that reads
 * the windows a client is offered fails.
 *
 * @example server.bindAsync(addr, creds, () => widenFlowControlWindows(server, logger))
 */
export function widenFlowControlWindows(server: Server, logger: Pick<Logger, "warn">): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) {
    logger.warn({}, "grpc-js internals changed: HTTP/2 flow-control windows stay at 64 KiB");
    return;
  }
  for (const http2Server of servers.keys() as IterableIterator<Http2Server>) {
    http2Server.on("session", (session: Http2Session) => {
      session.settings({ initialWindowSize: FLOW_CONTROL.streamWindowBytes });
      session.setLocalWindowSize(FLOW_CONTROL.connectionWindowBytes);
    });
  }
}
