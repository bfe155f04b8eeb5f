import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { ConfigError, checkHealth, DRIVERS, loadConfig } from "@prism/gateway";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { compiledPath } from "../../deploy/build-app.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { type RenderedObject, renderKustomization } from "./render-kustomization.js";

/**
 * deploy/: the Kubernetes base rendered offline and every object checked against the Kubernetes
 * API schemas (kubernetes-models: ajv validators compiled from the official OpenAPI document),
 * then the cross-object rules no schema knows — selectors, probe ports, grace periods, secrets only
 * by reference, the gateway config passing the gateway's own loadConfig — and a lint of the
 * Containerfile. The image itself cannot be built here (no container engine); its health probe runs
 * against a real gateway, and compiled-gateway.test.ts lays out and runs the image's /app.
 */
const REPO = resolve(import.meta.dirname, "../..");
const DEPLOY = join(REPO, "deploy");
const BASE = join(DEPLOY, "kubernetes/base/kustomization.yaml");
const TSX = join(REPO, "node_modules/.bin/tsx");
/** `prism …` as the image runs it, here from the sources (the compiled bin: compiled-gateway.test.ts). */
const prism = (args: string[]) =>
  promisify(execFile)(TSX, [join(REPO, "gateway/src/cli.ts"), ...args], { env: { PATH: process.env.PATH } });

/** apiVersion/kind → the model whose validate() applies the official schema. */
const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "v1/Secret": Secret,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

// biome-ignore lint/suspicious/noExplicitAny: rendered YAML, checked field by field below
type Any = any;

function validateAgainstSchema({ file, object }: RenderedObject): string | undefined {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) return `${file}: ${object.apiVersion} ${object.kind} has no schema here`;
  try {
    new Model(object as never).validate();
    return undefined;
  } catch (error) {
    return `${file}: ${object.kind}/${object.metadata.name}: ${(error as Error).message}`;
  }
}

const objects = renderKustomization(BASE);
const find = (kind: string, name = "prism-gateway"): Any =>
  objects.find(({ object }) => object.kind === kind && object.metadata.name === name)?.object;
const deployment = find("Deployment");
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const gatewayYaml: string = find("ConfigMap").data["gateway.yaml"];
const gatewayConfig = parseYaml(gatewayYaml);

describe("deploy/kubernetes/base", () => {
  it("renders every listed object, each in the prism namespace but the Namespace itself", () => {
    expect(objects.map(({ object }) => object.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "HorizontalPodAutoscaler",
      "Namespace",
      "PodDisruptionBudget",
      "Service",
      "Service",
      "ServiceAccount",
    ]);
    for (const { object } of objects) {
      if (object.kind === "Namespace") expect(object.metadata.namespace).toBeUndefined();
      else expect(object.metadata.namespace, object.kind).toBe("prism");
    }
  });

  it("passes the Kubernetes API schemas, object by object", () => {
    expect(objects.map(validateAgainstSchema).filter(Boolean)).toEqual([]);
  });

  it("the schema check does fail on a broken object (it is not vacuous)", () => {
    const broken = structuredClone(deployment);
    broken.spec.replicas = "three";
    broken.spec.template.spec.containers[0].readinessProbe.grpc = { service: "" };
    const problem = validateAgainstSchema({ file: "broken", object: broken });
    expect(problem).toMatch(/replicas must be integer/);
    expect(problem).toMatch(/grpc must have required property port/);
  });

  it("the example Secret passes the schema and holds placeholders only", () => {
    const file = join(DEPLOY, "kubernetes/examples/secret.example.yaml");
    const secret = parseYaml(readFileSync(file, "utf8"));
    expect(validateAgainstSchema({ file, object: secret })).toBeUndefined();
    for (const value of Object.values(secret.stringData) as string[])
      expect(value).toMatch(/CHANGE-ME.*\.invalid/);
    expect(objects.some(({ object }) => object.kind === "Secret")).toBe(false);
  });

  it("selects its own pods everywhere: Deployment, Services, PodDisruptionBudget, autoscaler", () => {
    const labels = deployment.spec.template.metadata.labels;
    const matches = (selector: Record<string, string>) =>
      Object.entries(selector).every(([key, value]) => labels[key] === value);
    expect(matches(deployment.spec.selector.matchLabels)).toBe(true);
    for (const { object } of objects.filter(({ object }) => object.kind === "Service"))
      expect(matches((object as Any).spec.selector), object.metadata.name).toBe(true);
    expect(matches(find("PodDisruptionBudget").spec.selector.matchLabels)).toBe(true);
    const target = find("HorizontalPodAutoscaler").spec.scaleTargetRef;
    expect([target.apiVersion, target.kind, target.name]).toEqual(["apps/v1", "Deployment", "prism-gateway"]);
    expect(pod.serviceAccountName).toBe(find("ServiceAccount").metadata.name);
  });

  it("probes gRPC health on the port the gateway config listens on", () => {
    const grpcPort = container.ports.find((port: Any) => port.name === "grpc").containerPort;
    const metricsPort = container.ports.find((port: Any) => port.name === "metrics").containerPort;
    expect(gatewayConfig.listen.grpc).toBe(`0.0.0.0:${grpcPort}`);
    expect(gatewayConfig.metrics.listen).toBe(`0.0.0.0:${metricsPort}`);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"])
      expect(container[probe].grpc, probe).toEqual({ port: grpcPort, service: "" });
    const names = new Set(container.ports.map((port: Any) => port.name));
    for (const { object } of objects.filter(({ object }) => object.kind === "Service"))
      for (const port of (object as Any).spec.ports) expect(names.has(port.targetPort), port.name).toBe(true);
  });

  it("rolls one pod at a time, drains before SIGTERM and outlasts the gateway's grace period", () => {
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe("sleep");
    const drainSeconds = Number(preStop[1]);
    expect(drainSeconds).toBeGreaterThanOrEqual(5);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      drainSeconds + gatewayConfig.shutdownGraceMs / 1000,
    );
    // Readiness fails within the drain window, so the endpoint is gone before SIGTERM.
    const readiness = container.readinessProbe;
    expect(readiness.periodSeconds * readiness.failureThreshold).toBeLessThanOrEqual(drainSeconds);
    const pdb = find("PodDisruptionBudget").spec;
    const hpa = find("HorizontalPodAutoscaler").spec;
    expect(pdb.maxUnavailable).toBe(1);
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(3);
    expect(hpa.minReplicas).toBe(deployment.spec.replicas);
    expect(hpa.maxReplicas).toBeGreaterThan(hpa.minReplicas);
    expect(hpa.metrics[0].resource).toMatchObject({ name: "cpu", target: { type: "Utilization" } });
    expect(container.resources.requests.cpu).toBeDefined(); // utilization is relative to it
    expect(pod.topologySpreadConstraints.map((c: Any) => c.topologyKey)).toContain("kubernetes.io/hostname");
  });

  it("runs as the image's non-root user on a read-only root, writing only to emptyDirs", () => {
    const user = /^USER (\d+)/m.exec(readFileSync(join(DEPLOY, "Containerfile"), "utf8"))![1];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(user) });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    const volumes = new Map(pod.volumes.map((volume: Any) => [volume.name, volume]));
    const writable = container.volumeMounts.filter((mount: Any) => !mount.readOnly);
    expect(writable.map((mount: Any) => mount.mountPath).sort()).toEqual(
      [gatewayConfig.dataDir, "/tmp"].sort(),
    );
    for (const mount of writable) expect((volumes.get(mount.name) as Any).emptyDir, mount.name).toBeDefined();
    const configMount = container.volumeMounts.find((mount: Any) => mount.name === "config");
    const configFile = container.env.find((env: Any) => env.name === "PRISM_CONFIG").value;
    expect(configFile).toBe(`${configMount.mountPath}/gateway.yaml`);
  });

  it("takes every env: secret from a Secret reference, and holds no secret value", () => {
    const referenced = [...gatewayYaml.matchAll(/env:([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]);
    expect(referenced).toContain("PRISM_CONFIG_STORE_URL");
    for (const name of referenced) {
      const env = container.env.find((entry: Any) => entry.name === name);
      expect(env?.valueFrom?.secretKeyRef, name).toMatchObject({ name: "prism-gateway" });
    }
    const example = parseYaml(readFileSync(join(DEPLOY, "kubernetes/examples/secret.example.yaml"), "utf8"));
    for (const env of container.env.filter((entry: Any) => entry.valueFrom?.secretKeyRef))
      expect(Object.keys(example.stringData)).toContain(env.valueFrom.secretKeyRef.key);
    for (const { file } of objects) {
      const text = readFileSync(file, "utf8");
      expect(text, file).not.toMatch(/postgres(ql)?:\/\/[^\s"']*@|password:|BEGIN [A-Z ]*PRIVATE KEY/i);
    }
  });

  it("serves N replicas from one PostgreSQL config store and no per-pod backend", () => {
    expect(gatewayConfig.configStore.type).toBe("postgres");
    for (const [name, backend] of Object.entries(gatewayConfig.backends) as [string, Any][])
      expect(["memory", "sqlite"], name).not.toContain(backend.type);
  });

  it("the ConfigMap's gateway config passes the gateway's own loadConfig", () => {
    const dir = mkdtempSync(join(tmpdir(), "prism-deploy-"));
    try {
      const file = join(dir, "gateway.yaml");
      writeFileSync(file, gatewayYaml);
      const env: Record<string, string> = {
        PRISM_CONFIG_STORE_URL: "postgres://prism:placeholder@db.example.invalid:5432/prism",
        PRISM_PG_URL: "postgres://prism:placeholder@db.example.invalid:5432/prism_data",
      };
      for (const entry of container.env) if (entry.value !== undefined) env[entry.name] = entry.value;
      const config = loadConfig({ file, env }, DRIVERS);
      expect(config.auth.mode).toBe("oidc");
      expect(config.dataDir).toBe("/var/lib/prism");
      // The same file with auth off is refused: 0.0.0.0 without authentication never starts.
      writeFileSync(file, gatewayYaml.replace("mode: oidc", "mode: none"));
      let refused: unknown;
      try {
        loadConfig({ file, env }, DRIVERS);
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as ConfigError).problems.join("\n")).toMatch(
        /listen\.grpc: 0\.0\.0\.0:8980 is not a loopback/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Containerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

describe("deploy/Containerfile", () => {
  const text = readFileSync(join(DEPLOY, "Containerfile"), "utf8");
  const all = instructions(text);
  const stages = all.reduce<{ op: string; args: string }[][]>((list, instruction) => {
    if (instruction.op === "FROM") list.push([]);
    list.at(-1)?.push(instruction);
    return list;
  }, []);
  const runtime = stages.at(-1)!;

  it("builds in one stage and runs from a slim one that only copies the build's output", () => {
    expect(stages.length).toBe(2);
    expect(stages[0]![0]!.args).toMatch(/^node:\$\{NODE_MAJOR\}-bookworm AS build$/);
    expect(runtime[0]!.args).toMatch(/^node:\$\{NODE_MAJOR\}-bookworm-slim AS runtime$/);
    expect(all.find((i) => i.op === "ARG")?.args).toMatch(/^NODE_MAJOR=(20|22)$/);
    const build = stages[0]!.map((i) => `${i.op} ${i.args}`).join("\n");
    expect(build).toMatch(/RUN pnpm install --frozen-lockfile/);
    expect(build).toMatch(/RUN node_modules\/\.bin\/tsx deploy\/build-app\.ts \/out/);
    const copies = runtime.filter((i) => i.op === "COPY");
    expect(copies.every((i) => i.args.startsWith("--from=build "))).toBe(true);
    // The runtime runs compiled JavaScript: nothing there names tsx or a TypeScript file.
    expect(runtime.map((i) => `${i.op} ${i.args}`).join("\n")).not.toMatch(/tsx|\.ts\b/);
  });

  it("runs as a non-root user, checks gRPC health, exposes gRPC and metrics", () => {
    const user = runtime.filter((i) => i.op === "USER").at(-1)?.args ?? "";
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/); // numeric, so runAsNonRoot can verify it
    expect(
      runtime
        .find((i) => i.op === "EXPOSE")
        ?.args.split(/\s+/)
        .sort(),
    ).toEqual(["8980", "9464"]);
    expect(runtime.find((i) => i.op === "HEALTHCHECK")?.args).toMatch(/CMD \["prism", "healthcheck"\]$/);
    expect(runtime.find((i) => i.op === "ENTRYPOINT")?.args).toBe('["/usr/bin/tini", "--", "prism"]');
    expect(runtime.find((i) => i.op === "WORKDIR")?.args).toBe("/app");
  });

  it("carries no secret and no default gateway config", () => {
    for (const { op, args } of all.filter((i) => i.op === "ENV" || i.op === "ARG" || i.op === "LABEL")) {
      expect(`${op} ${args}`).not.toMatch(/(SECRET|PASSWORD|TOKEN|PRIVATE|_KEY)\w*=|postgres(ql)?:\/\//i);
      expect(`${op} ${args}`).not.toMatch(/PRISM_CONFIG=/);
    }
    const ignored = readFileSync(join(DEPLOY, "Containerfile.dockerignore"), "utf8");
    for (const path of ["**/node_modules", ".stack", ".prism-data", ".git"]) expect(ignored).toContain(path);
  });

  it("puts the compiled `prism` bin on PATH, which refuses to start without a config", async () => {
    const link = runtime.find((i) => i.op === "RUN" && i.args.includes("/usr/local/bin/prism"))?.args ?? "";
    const gateway = JSON.parse(readFileSync(join(REPO, "gateway/package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    // /app is the gateway package after build-app.ts: bin paths there are compiledPath's.
    expect(link).toBe(`ln -s /app/${compiledPath(gateway.bin.prism!).slice(2)} /usr/local/bin/prism`);
    expect(link).toBe("ln -s /app/dist/cli.js /usr/local/bin/prism");
    const result = await prism(["gateway"]).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/set PRISM_CONFIG/) });
  });
});

describe("prism healthcheck (gateway/src/healthcheck.ts) against a real gateway", () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await startGatewayProcess({ backends: { mem: { type: "memory" } }, admin: { enabled: false } });
  });
  afterAll(async () => {
    await gateway?.stop();
    if (gateway) removeDataDir(gateway.dataDir);
  });

  it("answers SERVING in process, and exit 0 / 1 as `prism healthcheck`", async () => {
    expect(await checkHealth(gateway.address)).toEqual({ status: "SERVING" });
    expect(await checkHealth(gateway.address, { service: "prism.keyvalue.v1.KeyValueService" })).toEqual({
      status: "SERVING",
    });
    expect(await checkHealth(gateway.address, { service: "no.such.Service" })).toEqual({
      status: "SERVICE_UNKNOWN",
    });
    const run = (address: string) =>
      prism(["healthcheck", address]).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    expect(await run(gateway.address)).toEqual({ code: 0, stdout: `${gateway.address}: SERVING\n` });
    const closed = "127.0.0.1:1";
    const refused = await run(closed);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/ECONNREFUSED/);
  });
});
