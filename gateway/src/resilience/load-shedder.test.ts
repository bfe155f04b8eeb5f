import { isPrismError } from "@prism/core";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { describe, expect, it } from "vitest";
import type { MethodInfo, Next } from "../pipeline/pipeline.js";
import { LoadShedder, shed } from "./load-shedder.js";

const info = (service: typeof KeyValueService | typeof AdminService, name: string, pattern?: "keyvalue") => {
  const method = service.methods.find((m) => m.name === name)!;
  return { service, method, path: `${service.typeName}/${name}`, ...(pattern && { pattern }) } as MethodInfo;
};
const handler: Next = async () => "answered";

/** Runs one call through the shed step; its answer, or the refusal's reason. */
async function call(shedder: LoadShedder, method: MethodInfo): Promise<string> {
  try {
    return (await shed(shedder)(handler, method)({}, {} as never)) as string;
  } catch (error) {
    if (isPrismError(error)) return `${error.reason} retry ${error.retryAfterMs}`;
    throw error;
  }
}

describe("load shedding", () => {
  const get = info(KeyValueService, "Get", "keyvalue");
  const scan = info(KeyValueService, "Scan", "keyvalue");
  const list = info(AdminService, "ListNamespaces");

  it("sheds bulk streams first, then every data call, never admin", async () => {
    const shedder = new LoadShedder({ shedLagMs: 100, sampleMs: 500 });
    try {
      shedder.lagMs = 50;
      expect([await call(shedder, scan), await call(shedder, get)]).toEqual(["answered", "answered"]);
      shedder.lagMs = 150;
      expect([await call(shedder, scan), await call(shedder, get)]).toEqual([
        "OVERLOADED retry 1000",
        "answered",
      ]);
      shedder.lagMs = 250;
      expect(await call(shedder, get)).toBe("OVERLOADED retry 1000");
      expect(await call(shedder, list)).toBe("answered");
    } finally {
      shedder.close();
    }
  });

  it("measures the event loop's delay", async () => {
    const shedder = new LoadShedder({ shedLagMs: 100, sampleMs: 10_000 });
    try {
      // Let the delay monitor's timer start, then block the loop: it fires ~120 ms late.
      await new Promise((resolve) => setTimeout(resolve, 30));
      const until = Date.now() + 120;
      while (Date.now() < until) {
        // busy
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
      shedder.sample();
      // One long pause is not overload…
      expect(shedder.lagMs).toBe(0);
      const again = Date.now() + 120;
      while (Date.now() < again) {
        // busy
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
      shedder.sample();
      // …two in a row are.
      expect(shedder.lagMs).toBeGreaterThan(50);
      shedder.restart();
      expect(shedder.lagMs).toBe(0);
    } finally {
      shedder.close();
    }
  });

  it("never sheds when off", () => {
    const shedder = new LoadShedder({ shedLagMs: 0, sampleMs: 500 });
    shedder.lagMs = 10_000;
    expect(shedder.sheds(true)).toBe(false);
  });
});
