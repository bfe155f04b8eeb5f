import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ContextFile, contextsPath, readContexts, writeContexts } from "./contexts.js";
import { resolveSettings } from "./settings.js";

const file: ContextFile = {
  current: "dev",
  contexts: {
    dev: {
      addr: "dev.example:8980",
      namespace: "dev-ns",
      tlsCa: "/ca.pem",
      tlsCert: "/c.pem",
      tlsKey: "/k.pem",
    },
    prod: { addr: "prod.example:443", tls: true },
  },
};

describe("settings: flag, then environment variable, then context, then default", () => {
  it("takes the current context's when nothing else is given", () => {
    const settings = resolveSettings({}, {}, file);
    expect(settings.context).toBe("dev");
    expect(settings.address).toEqual({ value: "dev.example:8980", from: 'context "dev"' });
    expect(settings.namespace).toEqual({ value: "dev-ns", from: 'context "dev"' });
    expect(settings.tls.ca?.value).toBe("/ca.pem");
  });

  it("lets environment variables win over the context, and flags over both", () => {
    const env = { PRISM_ADDR: "env:1", PRISM_NAMESPACE: "env-ns", PRISM_CA: "/env-ca.pem" };
    const fromEnv = resolveSettings({}, env, file);
    expect(fromEnv.address).toEqual({ value: "env:1", from: "PRISM_ADDR" });
    expect(fromEnv.namespace).toEqual({ value: "env-ns", from: "PRISM_NAMESPACE" });
    expect(fromEnv.tls.ca).toEqual({ value: "/env-ca.pem", from: "PRISM_CA" });
    const fromFlags = resolveSettings({ addr: "flag:2", namespace: "flag-ns", tlsCa: "/f.pem" }, env, file);
    expect(fromFlags.address).toEqual({ value: "flag:2", from: "--addr" });
    expect(fromFlags.namespace).toEqual({ value: "flag-ns", from: "--namespace" });
    expect(fromFlags.tls.ca).toEqual({ value: "/f.pem", from: "--tls-ca" });
  });

  it("picks another context with --context or PRISM_CONTEXT, and defaults without any", () => {
    expect(resolveSettings({ context: "prod" }, {}, file).tls.tls).toEqual({
      value: true,
      from: 'context "prod"',
    });
    expect(resolveSettings({}, { PRISM_CONTEXT: "prod" }, file).address.value).toBe("prod.example:443");
    const none = resolveSettings({}, {}, { contexts: {} });
    expect(none.address).toEqual({ value: "127.0.0.1:8980", from: "default" });
    expect(none.namespace).toBeUndefined();
    expect(() => resolveSettings({ context: "qa" }, {}, file)).toThrow(
      'no context "qa" (there are: dev, prod)',
    );
  });

  it("--no-tls drops the TLS files of the environment and the context", () => {
    const settings = resolveSettings({ tls: false }, { PRISM_CA: "/env-ca.pem" }, file);
    expect(settings.tls).toEqual({});
    expect(settings.address.value).toBe("dev.example:8980");
  });
});

describe("the context file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "prismctl-contexts-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("is $PRISMCTL_CONFIG, else contexts.yaml in the config directory", () => {
    expect(contextsPath({ PRISMCTL_CONFIG: "/x/c.yaml" })).toBe("/x/c.yaml");
    expect(contextsPath({ XDG_CONFIG_HOME: "/cfg" })).toBe("/cfg/prism/contexts.yaml");
  });

  it("round-trips, written with mode 0600 (in a new directory, 0700)", () => {
    const path = join(dir, "sub", "contexts.yaml");
    expect(readContexts(path)).toEqual({ contexts: {} });
    writeContexts(path, file);
    expect(readContexts(path)).toEqual(file);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "sub")).mode & 0o777).toBe(0o700);
  });

  it("refuses a file that is not ours, naming it and what is wrong", () => {
    const path = join(dir, "contexts.yaml");
    writeFileSync(path, "contexts:\n  dev: { adress: x }\n");
    expect(() => readContexts(path)).toThrow(`${path}: dev.adress is not a context field`);
    writeFileSync(path, "contexts: [1, 2]\n");
    expect(() => readContexts(path)).toThrow('expected "contexts:"');
    writeFileSync(path, "contexts: {dev: {tls: yes-please}}\n");
    expect(() => readContexts(path)).toThrow("dev.tls must be true or false");
  });
});
