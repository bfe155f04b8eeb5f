import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout } from "node:timers/promises";
import type { ChildServer } from "./child.js";
import { type Dataset, MEMORY_NAMESPACE } from "./dataset.js";
import { startGatewayProcess } from "./gateway-process.js";
import { preload } from "./preload.js";

/** The throughput ratio gateway with metrics and 1% tracing / gateway with both off must keep (issue 12). */
export const TELEMETRY_GOAL = 0.9;

/** A gateway with metrics and tracing on, its twin with both off, and the OTLP receiver's count. */
export interface TelemetryGateways {
  plain: ChildServer;
  gateway: ChildServer;
  /** OTLP export requests the receiver took (spans were really exported). */
  exports(): number;
  /** Resolves once the receiver has taken an export, or after `timeoutMs`. */
  exported(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts two fresh gateways (memory backend, the bench namespace, loaded with the dataset): one
 * with metrics and tracing off, one with metrics on (served on a free port, as by default) and
 * tracing at the default 1% sampling, exporting OTLP/HTTP to a receiver in this process that
 * answers every export at once — so the cost measured is the gateway's, not a collector's.
 *
 * @example const telemetry = await startTelemetryGateways(dataset, children);
 */
export async function startTelemetryGateways(
  dataset: Dataset,
  children: ChildServer[],
): Promise<TelemetryGateways> {
  let exports = 0;
  let firstExport!: () => void;
  const first = new Promise<void>((resolve) => {
    firstExport = resolve;
  });
  const receiver = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      exports++;
      firstExport();
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      receiver.closeAllConnections();
      receiver.close(() => resolve());
    });
  try {
    const plain = await startGatewayProcess({
      backends: { mem: { type: "memory" } },
      namespaces: { [MEMORY_NAMESPACE]: "mem" },
      config: { metrics: { enabled: false } },
    });
    children.push(plain);
    await preload(plain.address, MEMORY_NAMESPACE, dataset);
    const port = (receiver.address() as AddressInfo).port;
    const gateway = await startGatewayProcess({
      backends: { mem: { type: "memory" } },
      namespaces: { [MEMORY_NAMESPACE]: "mem" },
      config: {
        metrics: { enabled: true },
        tracing: { enabled: true, endpoint: `http://127.0.0.1:${port}/v1/traces`, samplingRatio: 0.01 },
      },
    });
    children.push(gateway);
    await preload(gateway.address, MEMORY_NAMESPACE, dataset);
    const exported = (timeoutMs: number) =>
      Promise.race([first, setTimeout(timeoutMs, undefined, { ref: false })]);
    return { plain, gateway, exports: () => exports, exported, close };
  } catch (error) {
    await close();
    throw error;
  }
}
