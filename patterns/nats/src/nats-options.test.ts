import { describe, expect, it } from "vitest";
import { natsDriver } from "./index.js";
import { parseServerUrl, readNatsOptions } from "./nats-options.js";

describe("nats options", () => {
  it("fills defaults", () => {
    const { options, problems } = readNatsOptions({ url: "nats://127.0.0.1:4222" });
    expect(problems).toEqual([]);
    expect(options).toEqual({
      url: "nats://127.0.0.1:4222",
      bucketPrefix: "prism",
      replicas: 1,
      connectTimeoutMs: 3000,
      requestTimeoutMs: 5000,
      maxValueBytes: 1024 * 1024,
    });
    expect(Object.isFrozen(options)).toBe(true);
  });

  it("reports every problem at once", () => {
    const problems = natsDriver.validate({
      bucketPrefix: "has_underscore",
      replicas: 7,
      connectTimeoutMs: "fast",
      maxValueBytes: 0,
      urll: "typo",
    });
    expect(problems).toEqual([
      expect.stringMatching(/^urll: unknown option/),
      "url: required",
      expect.stringMatching(/^bucketPrefix: /),
      expect.stringMatching(/^replicas: /),
      expect.stringMatching(/^connectTimeoutMs: /),
      expect.stringMatching(/^maxValueBytes: /),
    ]);
  });

  it("never quotes the url, which may hold credentials", () => {
    const problems = natsDriver.validate({ url: "http://admin:hunter2@example.com/" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^url: /);
    expect(problems.join()).not.toContain("hunter2");
  });

  it("accepts server lists and env:/file: references", () => {
    expect(natsDriver.validate({ url: "nats://a:4222,tls://b:4222, c:4222" })).toEqual([]);
    expect(natsDriver.validate({ url: "env:PRISM_NATS_URL" })).toEqual([]);
    expect(natsDriver.validate({ url: "file:/run/secrets/nats-url" })).toEqual([]);
  });

  it("lifts credentials out of server URLs", () => {
    expect(parseServerUrl("nats://app:s%40cret@10.0.0.1:4222,nats://10.0.0.2:4222")).toEqual({
      servers: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"],
      user: "app",
      pass: "s@cret",
    });
    expect(parseServerUrl("tls://t0k3n@nats.internal:4222")).toEqual({
      servers: ["tls://nats.internal:4222"],
      token: "t0k3n",
    });
    expect(parseServerUrl("127.0.0.1:4222")).toEqual({ servers: ["nats://127.0.0.1:4222"] });
  });

  it("refuses to open with invalid options, and an env: url whose variable is unset", async () => {
    const open = (options: Record<string, unknown>) =>
      natsDriver.open({ name: "n", options, dataDir: "/tmp" });
    await expect(open({ replicas: 0 })).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(open({ url: "env:PRISM_TEST_SURELY_UNSET_VAR" })).rejects.toMatchObject({
      kind: "InvalidArgument",
    });
  });
});
