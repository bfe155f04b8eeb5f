#!/usr/bin/env node
/**
 * The `prism` command — what the container image runs, compiled (`pnpm build`, `dist/cli.js`), with
 * plain `node` and no TypeScript loader (ADR-0027):
 *
 *   prism [gateway] [--config FILE] …   the gateway (`main.ts`); PRISM_CONFIG names the config otherwise
 *   prism healthcheck [host:port]       one gRPC health check; exit 0 when SERVING (`healthcheck.ts`)
 *
 * Unlike `pnpm start`, it has no embedded default: that one serves SQLite demo namespaces on
 * loopback only, which is never what a deployment means. In the workspace, `tsx gateway/src/cli.ts`.
 */
import { runHealthcheck } from "./healthcheck.js";

const USAGE = "usage: prism [gateway] [--config FILE] | prism healthcheck [host:port]\n";

const [command = "gateway", ...rest] = process.argv.slice(2);
if (command === "healthcheck") {
  process.exit(await runHealthcheck(rest, process.env));
} else if (command === "help" || command === "--help" || command === "-h") {
  process.stdout.write(USAGE);
} else if (command === "gateway" || command.startsWith("-")) {
  const args = command === "gateway" ? rest : [command, ...rest];
  const hasConfig = args.some((arg) => arg === "--config" || arg === "-c" || arg.startsWith("--config="));
  if (!process.env.PRISM_CONFIG && !hasConfig) {
    process.stderr.write(
      "prism: set PRISM_CONFIG (or pass --config FILE); the image ships no gateway config\n",
    );
    process.exit(2);
  }
  // main.ts reads its options from process.argv (so do cluster workers it may fork).
  process.argv.splice(2, process.argv.length, ...args);
  await import("./main.js");
} else {
  process.stderr.write(USAGE);
  process.exit(64);
}
