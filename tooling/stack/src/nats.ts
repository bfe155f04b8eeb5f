import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { PORTS, STACK_ENDPOINTS, stackDir, stackEndpoints, VERSIONS } from "./config.js";
import { findOnPath, run } from "./process.js";
import type { LaunchSpec, Log, StackServer } from "./server.js";
import { aptInstall } from "./system.js";

const MODULE = "github.com/nats-io/nats-server/v2";

/**
 * NATS with JetStream storing into the stack dir. The server is built from source with
 * `go install github.com/nats-io/nats-server/v2@v<VERSIONS.nats>` into `<dir>/bin` (about a
 * minute, once), because the backend relies on NATS ≥ 2.11 (per-message TTL, batched direct
 * gets; ADR-0010). Only when `go` is missing does it fall back to Debian's `nats-server` (2.9.x
 * on Debian 12), and says so loudly: on it the NATS backend has no TTL and slower record reads.
 */
export function natsServer(dir: string): StackServer {
  const dataDir = join(dir, "data");
  const configFile = join(dir, "nats.conf");
  const ownBinary = join(dir, "bin", "nats-server");

  return {
    name: "nats",
    title: `NATS ${VERSIONS.nats} (JetStream)`,
    address: STACK_ENDPOINTS.natsUrl,
    dir,
    dataDirs: [dataDir],
    ports: [PORTS.nats, PORTS.natsMonitor],
    startTimeoutMs: 20_000,
    stopSignal: "SIGTERM",
    crashSignal: "SIGKILL",
    processMarker: configFile,

    async isInstalled() {
      if (binaryVersion(ownBinary) === VERSIONS.nats) return true;
      // Without go, the Debian package is the installation (see install).
      return goCommand() === undefined && findOnPath("nats-server") !== undefined;
    },

    async install(log: Log) {
      const go = goCommand();
      if (go) {
        log(`go install ${MODULE}@v${VERSIONS.nats} into ${join(dir, "bin")}`);
        await run(go, ["install", `${MODULE}@v${VERSIONS.nats}`], {
          env: { GOBIN: join(dir, "bin"), GOFLAGS: "-mod=mod", CGO_ENABLED: "0" },
          logFile: join(dir, "install.log"),
        });
        const built = binaryVersion(ownBinary);
        if (built !== VERSIONS.nats) {
          throw new Error(`go install produced nats-server ${built ?? "(none)"}, expected ${VERSIONS.nats}`);
        }
        return;
      }
      warnFallback(log);
      if (!findOnPath("nats-server")) await aptInstall(["nats-server"], log);
      if (!findOnPath("nats-server")) throw new Error("nats-server is still missing after apt-get install");
    },

    async prepare(log: Log): Promise<LaunchSpec> {
      const command = natsServerBinary(dir);
      if (!command) throw new Error("nats-server is not installed; run `pnpm stack install`");
      const version = binaryVersion(command);
      if (command === ownBinary && version !== VERSIONS.nats) {
        throw new Error(
          `${command} is nats-server ${version}, expected ${VERSIONS.nats}; run \`pnpm stack install\``,
        );
      }
      if (command !== ownBinary) warnFallback(log, version);
      else log(`nats-server ${version} (${command})`);
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(configFile, renderConfig(dataDir));
      return { command, args: ["-c", configFile], cwd: dir };
    },

    async probe(timeoutMs: number) {
      const nc = await connect({ servers: STACK_ENDPOINTS.natsUrl, timeout: timeoutMs, reconnect: false });
      try {
        // Account info answers only when JetStream is enabled and its store is ready.
        const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
        await jsm.getAccountInfo();
      } finally {
        await nc.close();
      }
    },
  };
}

/**
 * The nats-server the stack runs: its own build (`<stack dir>/nats/bin/nats-server`) when present,
 * else Debian's on PATH; `undefined` when neither is installed. Tests that run a server of their
 * own use this one too.
 *
 * @example spawn(natsServerBinary()!, ["-js", "-p", "4333"])
 */
export function natsServerBinary(dir = join(stackDir(), "nats")): string | undefined {
  const own = join(dir, "bin", "nats-server");
  return existsSync(own) ? own : findOnPath("nats-server");
}

/**
 * Deletes the JetStream streams of the stack's NATS whose names start with `prefix`: tests that
 * fill a namespace remove it afterwards. Does nothing when the server does not answer.
 *
 * @example await deleteNatsStreams(`KV_${bucketPrefix}_`)
 */
export async function deleteNatsStreams(prefix: string): Promise<void> {
  const nc = await connect({ servers: stackEndpoints().natsUrl, timeout: 2_000 }).catch(() => undefined);
  if (!nc) return;
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(prefix)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}

/** `go` on PATH, or in the standard install location a non-login PATH may lack. */
/** The Go toolchain, if the machine has one. */
export function goCommand(): string | undefined {
  return findOnPath("go") ?? (existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : undefined);
}

/** "2.15.2" from `nats-server --version` ("nats-server: v2.15.2"), or undefined. */
function binaryVersion(binary: string): string | undefined {
  if (!existsSync(binary)) return undefined;
  try {
    const output = execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000 });
    return /v(\d+\.\d+\.\d+\S*)/.exec(output)?.[1];
  } catch {
    return undefined;
  }
}

function warnFallback(log: Log, version?: string): void {
  log(
    `WARNING: go is not installed, so the stack runs Debian's nats-server ${version ?? "(2.9.x)"} ` +
      `instead of ${VERSIONS.nats}: the NATS backend then has no per-item TTL and reads whole records ` +
      "by listing subjects. Install go and run `pnpm stack install nats` (ADR-0010).",
  );
}

function renderConfig(dataDir: string): string {
  return `# Generated by tooling/stack; rewritten on every start.
server_name: prism-stack
listen: 127.0.0.1:${PORTS.nats}
http: 127.0.0.1:${PORTS.natsMonitor}
jetstream {
  store_dir: ${JSON.stringify(dataDir)}
  max_memory_store: 256MB
  max_file_store: 4GB
}
`;
}
