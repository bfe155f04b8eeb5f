#!/usr/bin/env node
import { PrismError } from "@prism/core";
import { errorDetails } from "@prism/proto/grpc";
import { tlsCredentials } from "./cli.js";
import { COMMANDS, UsageError } from "./commands.js";
import { resolveAuth } from "./login-commands.js";

/** Commands that talk to the issuer, not the gateway: they send no token. */
const NO_TOKEN = new Set(["login", "logout"]);

/**
 * prismctl [--addr HOST:PORT] [--token TOKEN] [--tls] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] COMMAND…
 * — talks to a gateway (default 127.0.0.1:8980, or PRISM_ADDR), sending `--token`, PRISM_TOKEN or
 * the token of `prismctl login`; over TLS when given a CA (`--tls-ca`/PRISM_CA), a client certificate
 * (`--tls-cert`/`--tls-key`, PRISM_CERT/PRISM_KEY: mTLS gateways) or `--tls` (the system's roots).
 * Errors print the gRPC status and reason and exit 1; usage errors exit 2.
 */
async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  let address = process.env.PRISM_ADDR ?? "127.0.0.1:8980";
  const at = args.indexOf("--addr");
  if (at >= 0) {
    address = args[at + 1] ?? address;
    args.splice(at, 2);
  }
  const take = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const tlsAt = args.indexOf("--tls");
  if (tlsAt >= 0) args.splice(tlsAt, 1);
  const tls = {
    ca: take("--tls-ca") ?? process.env.PRISM_CA,
    cert: take("--tls-cert") ?? process.env.PRISM_CERT,
    key: take("--tls-key") ?? process.env.PRISM_KEY,
    tls: tlsAt >= 0,
  };
  const tokenAt = args.indexOf("--token");
  const token = tokenAt >= 0 ? (args.splice(tokenAt, 2)[1] ?? "") : undefined;
  const name = `${args[0] ?? ""} ${args[1] ?? ""}`;
  const words = COMMANDS[name] ? 2 : 1;
  const command = COMMANDS[name] ?? COMMANDS[args[0] ?? ""];
  if (!command) {
    process.stderr.write(
      `usage: prismctl [--addr HOST:PORT] [--token TOKEN] [--tls] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] COMMAND\n${Object.values(
        COMMANDS,
      )
        .map((c) => `  ${c.usage}`)
        .join("\n")}\n`,
    );
    return 2;
  }
  try {
    const auth = NO_TOKEN.has(args[0]!) ? undefined : await resolveAuth(process.env, token);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const channel = tlsCredentials(tls);
    await command.run(
      { address, out, ...(auth && { auth }), ...(channel && { credentials: channel }) },
      args.slice(words),
    );
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`usage: prismctl ${error.message}\n`);
      return 2;
    }
    const { code, details } = error as { code?: number; details?: string };
    // A PrismError is prismctl's own (login, token cache); the others come from the gateway.
    const reason = error instanceof PrismError ? error.reason : errorDetails(error).reason;
    process.stderr.write(
      `error: ${details ?? (error as Error).message}${reason ? ` (${reason})` : ""}${code === 14 ? ` — is the gateway running on ${address}?` : ""}\n`,
    );
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
