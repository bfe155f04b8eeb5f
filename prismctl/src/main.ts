#!/usr/bin/env node
import { errorDetails } from "@prism/proto/grpc";
import { COMMANDS, UsageError } from "./commands.js";

/**
 * prismctl [--addr HOST:PORT] COMMAND… — talks to a gateway (default 127.0.0.1:8980, or
 * PRISM_ADDR). Errors print the gRPC status and reason and exit 1; usage errors exit 2.
 */
async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  let address = process.env.PRISM_ADDR ?? "127.0.0.1:8980";
  const at = args.indexOf("--addr");
  if (at >= 0) {
    address = args[at + 1] ?? address;
    args.splice(at, 2);
  }
  const name = `${args[0] ?? ""} ${args[1] ?? ""}`;
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(
      `usage: prismctl [--addr HOST:PORT] COMMAND\n${Object.values(COMMANDS)
        .map((c) => `  ${c.usage}`)
        .join("\n")}\n`,
    );
    return 2;
  }
  try {
    await command.run({ address, out: (line) => process.stdout.write(`${line}\n`) }, args.slice(2));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`usage: prismctl ${error.message}\n`);
      return 2;
    }
    const { code, details } = error as { code?: number; details?: string };
    const reason = errorDetails(error).reason;
    process.stderr.write(
      `error: ${details ?? (error as Error).message}${reason ? ` (${reason})` : ""}${code === 14 ? ` — is the gateway running on ${address}?` : ""}\n`,
    );
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
