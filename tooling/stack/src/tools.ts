import { existsSync } from "node:fs";
import { join } from "node:path";
import { stackDir } from "./config.js";
import { goCommand } from "./nats.js";
import { run } from "./process.js";

const GRPCURL = "github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3";

/** Where the stack keeps grpcurl (the reflection tests drive the gateway with it). */
export function grpcurlBinary(): string {
  return join(stackDir(), "tools", "bin", "grpcurl");
}

/**
 * Installs the client tools the tests use (grpcurl) into the stack directory with `go install`,
 * so `pnpm test` needs nothing installed by hand. Returns true when it installed something.
 *
 * @example await installTools(console.log)
 */
export async function installTools(log: (message: string) => void): Promise<boolean> {
  if (existsSync(grpcurlBinary())) return false;
  const go = goCommand();
  if (!go) {
    log("go is not installed: the reflection tests will look for grpcurl on PATH or $PRISM_GRPCURL");
    return false;
  }
  const bin = join(stackDir(), "tools", "bin");
  log(`go install ${GRPCURL} into ${bin}`);
  await run(go, ["install", GRPCURL], {
    env: { GOBIN: bin, GOFLAGS: "-mod=mod", CGO_ENABLED: "0" },
    logFile: join(stackDir(), "tools", "install.log"),
  });
  return true;
}
