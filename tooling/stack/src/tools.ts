import { existsSync } from "node:fs";
import { join } from "node:path";
import { stackDir } from "./config.js";
import { goCommand } from "./nats.js";
import { findOnPath, run } from "./process.js";
import { ensureCommand } from "./system.js";

const GRPCURL = "github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3";

/** Where the stack keeps grpcurl (the reflection tests drive the gateway with it). */
export function grpcurlBinary(): string {
  return join(stackDir(), "tools", "bin", "grpcurl");
}

/** The browser the admin UI's tests drive (Debian's Chromium; never a downloaded one). */
export function chromiumBinary(): string | undefined {
  return process.env.PRISM_CHROMIUM ?? findOnPath("chromium");
}

/**
 * Installs Debian's Chromium for the admin UI's browser tests (playwright-core drives it).
 * Returns true when it installed it.
 */
export async function installBrowser(log: (message: string) => void): Promise<boolean> {
  if (chromiumBinary()) return false;
  await ensureCommand("chromium", "chromium", log);
  return true;
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
