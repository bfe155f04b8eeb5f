import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STACK_ENDPOINTS, stackDir, stackEndpoints } from "./config.js";
import { logExcerpt } from "./log-excerpt.js";
import { isProcessAlive } from "./process.js";

describe("stackEndpoints", () => {
  it("returns the stack's loopback addresses when no override is set", () => {
    expect(stackEndpoints({})).toEqual({
      postgresUrl: "postgres://prism:prism@127.0.0.1:15432/prism",
      natsUrl: "nats://127.0.0.1:14222",
      kafkaBrokers: "127.0.0.1:19092",
      gremlinUrl: "ws://127.0.0.1:18182/gremlin",
    });
  });

  it("lets each PRISM_TEST_* variable override its endpoint, ignoring empty ones", () => {
    const endpoints = stackEndpoints({
      PRISM_TEST_POSTGRES_URL: "postgres://ci@db:5432/x",
      PRISM_TEST_KAFKA_BROKERS: "k1:9092,k2:9092",
      PRISM_TEST_NATS_URL: "",
    });
    expect(endpoints.postgresUrl).toBe("postgres://ci@db:5432/x");
    expect(endpoints.kafkaBrokers).toBe("k1:9092,k2:9092");
    expect(endpoints.natsUrl).toBe(STACK_ENDPOINTS.natsUrl);
    expect(endpoints.gremlinUrl).toBe(STACK_ENDPOINTS.gremlinUrl);
  });
});

describe("stackDir", () => {
  it("is .stack at the repo root unless PRISM_STACK_DIR is set", () => {
    expect(stackDir({})).toMatch(/\/\.stack$/);
    expect(stackDir({ PRISM_STACK_DIR: "/tmp/other-stack" })).toBe("/tmp/other-stack");
  });
});

describe("logExcerpt", () => {
  it("shows problems from the last launch only, before the tail", () => {
    const file = join(mkdtempSync(join(tmpdir(), "stack-test-")), "server.log");
    const noise = Array.from({ length: 30 }, (_, i) => `INFO shutting down step ${i}`);
    const lines = ["--- launch 1", "ERROR old failure", "--- launch 2", "ERROR bind failed", ...noise];
    writeFileSync(file, `${lines.join("\n")}\n`);
    const excerpt = logExcerpt(file, 5).split("\n");
    expect(excerpt[0]).toBe("ERROR bind failed");
    expect(excerpt).not.toContain("ERROR old failure");
    expect(excerpt.at(-1)).toBe("INFO shutting down step 29");
    expect(excerpt).toHaveLength(1 + 1 + 5);
  });
});

describe("isProcessAlive", () => {
  it("matches a live process only when its command line contains the marker", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    await new Promise((resolve) => child.once("spawn", resolve));
    try {
      expect(isProcessAlive(child.pid!, "sleep 30")).toBe(true);
      expect(isProcessAlive(child.pid!, "kafka.Kafka")).toBe(false);
    } finally {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    expect(isProcessAlive(child.pid!, "sleep 30")).toBe(false);
  });
});
