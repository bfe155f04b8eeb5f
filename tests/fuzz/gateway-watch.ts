import { setTimeout as sleep } from "node:timers/promises";
import { createPromiseClient } from "@prism/proto/grpc";
import { Health, HealthCheckResponse_ServingStatus } from "@prism/proto/grpc/health/v1/health";

/** The gateway's memory in bytes, from its Prometheus endpoint (the real node process, not tsx). */
export interface GatewayMemory {
  rss: number;
  /** V8 heap in use (what a leak of JS objects grows). */
  heapUsed: number;
  /** Memory of Buffers and other objects outside the V8 heap. */
  external: number;
}

export async function gatewayMemory(metricsAddress: string): Promise<GatewayMemory> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  const sample = (name: string) => {
    const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
    if (!match) throw new Error(`no ${name} in the gateway's metrics`);
    return Number(match[1]);
  };
  return {
    rss: sample("process_resident_memory_bytes"),
    heapUsed: sample("nodejs_heap_size_used_bytes"),
    external: sample("nodejs_external_memory_bytes"),
  };
}

/** Problems seen by a health prober. */
export interface HealthProbes {
  probes: number;
  failures: string[];
  /** Stops probing and resolves when the last probe has ended. */
  stop(): Promise<void>;
}

/**
 * Asks `grpc.health.v1.Health/Check` every `everyMs` on a client of its own; every answer must
 * be SERVING within `timeoutMs`.
 */
export function probeHealth(address: string, everyMs = 250, timeoutMs = 2000): HealthProbes {
  const health = createPromiseClient(Health, { address });
  let running = true;
  const result: HealthProbes = { probes: 0, failures: [], stop: async () => {} };
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        const answer = await health.check({ service: "" }, { timeoutMs });
        if (answer.status !== HealthCheckResponse_ServingStatus.SERVING) {
          result.failures.push(`status ${HealthCheckResponse_ServingStatus[answer.status]}`);
        }
      } catch (error) {
        result.failures.push(`after ${Date.now() - started} ms: ${(error as Error).message}`);
      }
      result.probes++;
      await sleep(everyMs);
    }
  })();
  result.stop = async () => {
    running = false;
    await loop;
    health.close();
  };
  return result;
}
