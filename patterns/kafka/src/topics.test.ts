import { describe, expect, it } from "vitest";
import { partitionFor, topicConfigs, topicName } from "./topics.js";

describe("topicName", () => {
  it("keeps gateway namespace names and escapes anything else distinctly", () => {
    expect(topicName("prism", "demo-ts")).toBe("prism.demo-ts");
    expect(topicName("prism", "A.b_c")).toBe("prism._41_2eb_5fc");
    expect(topicName("prism", "é")).toBe("prism._c3_a9");
    expect(topicName("prism", "a_2e")).not.toBe(topicName("prism", "a."));
  });

  it("fits long names into Kafka's 249 characters, distinctly", () => {
    const a = topicName("prism", `${"n".repeat(300)}a`);
    const b = topicName("prism", `${"n".repeat(300)}b`);
    expect(a.length).toBeLessThanOrEqual(249);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9._-]+$/);
  });
});

describe("partitionFor", () => {
  it("is stable and within the partition count", () => {
    for (const id of ["a", "b", "sensor-1", "\u{1F600}"]) {
      const p = partitionFor(id, 7);
      expect(p).toBe(partitionFor(id, 7));
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
    }
  });
});

describe("topicConfigs", () => {
  it("keeps events for retention plus the accept-future window and clock allowance", () => {
    const configs = topicConfigs(
      { retentionMs: 3_600_000, acceptPastMs: 1, acceptFutureMs: 60_000 },
      { clockSkewMs: 1000, maxMessageBytes: 1 << 20, replicationFactor: 3 },
    );
    expect(configs["retention.ms"]).toBe(String(3_600_000 + 60_000 + 1000));
    expect(configs["message.timestamp.type"]).toBe("LogAppendTime");
    expect(configs["min.insync.replicas"]).toBe("2");
  });
});
