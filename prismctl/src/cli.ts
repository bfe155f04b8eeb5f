import { readFileSync } from "node:fs";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import type { CachedTokens } from "./token-cache.js";

/** Where prismctl sends calls and how it prints. */
export interface CliContext {
  address: string;
  /** TLS to the gateway (`--tls-ca`, `--tls-cert`/`--tls-key`); plaintext when absent. */
  credentials?: ChannelCredentials;
  out: (line: string) => void;
  /** Headers every call sends (the bearer token); absent for `login` and `logout`. */
  auth?: CliAuth;
  /** Where login settings come from (PRISM_ISSUER, XDG_CONFIG_HOME…); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** The credentials of a command: from `--token`/PRISM_TOKEN (`explicit`) or the login cache. */
export interface CliAuth {
  headers: Record<string, string>;
  tokens?: CachedTokens;
  explicit?: boolean;
}

/** Where the TLS files come from: flags, else PRISM_CA / PRISM_CERT / PRISM_KEY. */
export interface TlsFiles {
  /** CA certificate(s) to trust, PEM; `--tls` alone uses the system's roots. */
  ca?: string | undefined;
  /** Client certificate and key, PEM (mTLS gateways). */
  cert?: string | undefined;
  key?: string | undefined;
  /** TLS with the system's roots, no files. */
  tls?: boolean;
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

/** Commands by their words (`kv put`), each with its usage line. */
export type Commands = Record<
  string,
  { usage: string; run: (ctx: CliContext, args: string[]) => Promise<void> }
>;

export class UsageError extends Error {}

/** Keys, values and payloads on the command line are UTF-8 text. */
export const encoder = new TextEncoder();
export const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

export function need(args: string[], count: number, usage: string): string[] {
  if (args.length < count) throw new UsageError(usage);
  return args;
}

export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Every value of a repeatable flag. */
export function repeated(args: string[], name: string): string[] {
  return args.flatMap((arg, i) => (arg === name && args[i + 1] !== undefined ? [args[i + 1]!] : []));
}

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
