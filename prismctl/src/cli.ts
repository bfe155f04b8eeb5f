import { readFileSync } from "node:fs";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { type FailureScene, UsageError } from "./errors.js";
import type { Printer } from "./output.js";
import type { LiveOutput } from "./progress-bar.js";
import type { CachedTokens } from "./token-cache.js";

export { UsageError } from "./errors.js";

/**
 * What one run of prismctl talks to: the process's environment and output streams (tests pass
 * their own to run the command tree in-process).
 */
export interface Runtime {
  env: NodeJS.ProcessEnv;
  /** Raw text to stdout / stderr. */
  stdout(text: string): void;
  stderr(text: string): void;
  /** Where live progress lines go (stderr: a terminal shows them, anything else does not). */
  progress: LiveOutput;
  /** Set by the running command once it knows where it goes: what its failure's hint names. */
  scene?: FailureScene;
}

/** What a command gets: where its calls go, how it prints. */
export interface CliContext {
  address: string;
  /** TLS to the gateway (`--tls-ca`, `--tls-cert`/`--tls-key`, `--tls`); plaintext when absent. */
  credentials?: ChannelCredentials;
  /** One line to stdout, as is (prefer `print`, which follows `-o`). */
  out: (line: string) => void;
  /** One line to stderr: what is neither data nor its summary (a cursor to resume, bad lines). */
  err: (line: string) => void;
  /** Output in the format `-o` chose. */
  print: Printer;
  /** Live progress lines (a terminal on stderr, or nothing). */
  progress: LiveOutput;
  /** Headers every call sends (the bearer token); absent for commands that call no gateway. */
  auth?: CliAuth;
  /** Where login and context settings come from (PRISM_ISSUER, XDG_CONFIG_HOME…). */
  env: NodeJS.ProcessEnv;
}

/** The credentials of a command: from `--token`/PRISM_TOKEN (`explicit`) or the login cache. */
export interface CliAuth {
  headers: Record<string, string>;
  tokens?: CachedTokens;
  explicit?: boolean;
}

/** Where the TLS files come from: flags, else PRISM_CA / PRISM_CERT / PRISM_KEY, else the context. */
export interface TlsFiles {
  /** CA certificate(s) to trust, PEM; `--tls` alone uses the system's roots. */
  ca?: string | undefined;
  /** Client certificate and key, PEM (mTLS gateways). */
  cert?: string | undefined;
  key?: string | undefined;
  /** TLS with the system's roots, no files. */
  tls?: boolean | undefined;
}

/**
 * Channel credentials for a TLS gateway, or undefined for plaintext (loopback). A certificate
 * needs its key and the other way round.
 *
 * @example tlsCredentials({ ca: "ca.crt", cert: "me.crt", key: "me.key" })
 */
export function tlsCredentials(files: TlsFiles): ChannelCredentials | undefined {
  if (!files.ca && !files.cert && !files.key && !files.tls) return undefined;
  if (Boolean(files.cert) !== Boolean(files.key)) {
    throw new UsageError("--tls-cert and --tls-key go together (a client certificate and its private key)");
  }
  const read = (file: string | undefined) => (file ? readFileSync(file) : null);
  return credentials.createSsl(read(files.ca), read(files.key), read(files.cert));
}

/** Keys, values and payloads on the command line are UTF-8 text. */
export const encoder = new TextEncoder();
export const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

/** A fresh idempotency token: a retried call with it is applied once. */
export const idempotencyToken = () => ({
  generationTime: { seconds: BigInt(Math.floor(Date.now() / 1000)) },
  token: crypto.randomUUID(),
});

/** A client of `service` on the gateway for the length of `use`. */
export async function withClient<S extends GenServiceMethods, T>(
  ctx: CliContext,
  service: GenService<S>,
  use: (client: PromiseClient<S>) => Promise<T>,
): Promise<T> {
  const client = createPromiseClient(service, {
    address: ctx.address,
    headers: ctx.auth?.headers ?? {},
    ...(ctx.credentials && { credentials: ctx.credentials }),
  });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

/**
 * Runs `use` until it ends or Ctrl-C (SIGINT, SIGTERM) aborts the signal it gets; true when it
 * was interrupted (how a tail or a followed job ends without failing).
 *
 * @example const stopped = await untilInterrupted((signal) => follow(signal))
 */
export async function untilInterrupted(use: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    await use(stop.signal);
    return false;
  } catch (error) {
    if (stop.signal.aborted) return true;
    throw error;
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
}
