import { connect, type Http2Session } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";

/**
 * The HTTP/2 windows the gateway offers a client (gateway/src/grpc/flow-control.ts): wider than
 * HTTP/2's 64 KiB defaults, so a large batch arrives without waiting for WINDOW_UPDATEs. This
 * fails if grpc-js stops exposing what the gateway widens them through.
 */
let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await startGatewayProcess({ backends: { mem: { type: "memory" } } });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

describe("HTTP/2 flow control", () => {
  it("offers each connection a 1 MiB stream window and an 8 MiB connection window", async () => {
    const session: Http2Session = connect(`http://${gateway.address}`);
    try {
      const deadline = Date.now() + 10_000;
      while (
        (session.remoteSettings?.initialWindowSize !== 1 << 20 ||
          (session.state.remoteWindowSize ?? 0) < 8 << 20) &&
        Date.now() < deadline
      ) {
        await sleep(20);
      }
      expect(session.remoteSettings.initialWindowSize).toBe(1 << 20);
      expect(session.state.remoteWindowSize).toBeGreaterThanOrEqual(8 << 20);
    } finally {
      session.close();
    }
  });
});
