import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import type { CachedTokens } from "./token-cache.js";

/** Where prismctl sends calls and how it prints. */
export interface CliContext {
  address: string;
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
  const client = createPromiseClient(service, { address: ctx.address, headers: ctx.auth?.headers ?? {} });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}
