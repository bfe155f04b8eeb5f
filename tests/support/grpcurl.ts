import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { grpcurlBinary } from "@prism/stack";

const INSTALL_HINT =
  "install it with `go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3` " +
  "(lands in $(go env GOPATH)/bin, usually ~/go/bin) or point PRISM_GRPCURL at the binary";

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The grpcurl binary: `PRISM_GRPCURL`, else the one `pnpm stack install` built into `.stack/tools`,
 * else `$GOPATH/bin` or `~/go/bin`, else `PATH`. Throws with
 * an install hint when there is none: the reflection tests must fail, not skip, without it.
 */
export function findGrpcurl(): string {
  const configured = process.env.PRISM_GRPCURL;
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new Error(`PRISM_GRPCURL=${configured} is not an executable file; ${INSTALL_HINT}`);
  }
  const candidates = [
    grpcurlBinary(),
    ...(process.env.GOPATH ?? "")
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, "bin", "grpcurl")),
    join(homedir(), "go", "bin", "grpcurl"),
    ...(process.env.PATH ?? "")
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, "grpcurl")),
  ];
  const found = candidates.find(isExecutable);
  if (!found) throw new Error(`grpcurl not found (looked in ${candidates.join(", ")}); ${INSTALL_HINT}`);
  return found;
}

/** What a grpcurl run printed and its exit code (grpcurl exits 64 + the gRPC code on a failed call). */
export interface GrpcurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `grpcurl -plaintext [args…] address [call]` against a gateway, with no local protos: all
 * it knows comes from server reflection. `data` is sent with `-d`.
 *
 * @example await grpcurl(bin, gateway.address, ["list"])
 * @example await grpcurl(bin, gateway.address, ["prism.keyvalue.v1.KeyValueService/Get"], { data: { namespace, id } })
 */
export function grpcurl(
  binary: string,
  address: string,
  command: readonly string[],
  options: { data?: unknown; flags?: readonly string[] } = {},
): Promise<GrpcurlResult> {
  const args = [
    "-plaintext",
    "-max-time",
    "20",
    ...(options.flags ?? []),
    ...(options.data === undefined ? [] : ["-d", JSON.stringify(options.data)]),
    address,
    ...command,
  ];
  return new Promise((done, fail) => {
    execFile(binary, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") {
        fail(new Error(`grpcurl ${args.join(" ")} did not run: ${error.message}`));
        return;
      }
      done({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}
