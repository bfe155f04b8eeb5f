import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * `pnpm test` after typecheck and lint: checks docs-cms, then runs vitest in two phases and prints
 * one summary line. Phase 1 is every suite in parallel; phase 2 is the fault tests, which stop and
 * restart shared stack servers and so must run alone. Last, the benchmark's short modes
 * (`pnpm bench kv --smoke`, `pnpm bench ts --smoke` and `pnpm bench graph --smoke`, alone too:
 * they measure) must complete and print their tables; their numbers are not judged. Exits non-zero
 * if the docs check, any test or a bench smoke failed, or if no test ran. `--no-bench` skips the
 * bench smoke (the Node 22 run, `node22.ts`: measuring twice adds nothing).
 */
const repo = resolve(import.meta.dirname, "../../..");
const reports = join(repo, ".stack", "test-reports");
mkdirSync(reports, { recursive: true });
const vitest = join(repo, "node_modules/.bin/vitest");
const noBench = process.argv.includes("--no-bench");
const extra = process.argv.slice(2).filter((arg) => arg !== "--no-bench");

const phases = [
  { name: "suites", args: ["run", "--exclude", "tests/faults/**", ...extra] },
  { name: "faults", args: ["run", "tests/faults", "--no-file-parallelism", ...extra] },
];

interface Report {
  testResults?: {
    name: string;
    assertionResults?: { fullName: string; status: string; failureMessages?: string[] }[];
    message?: string;
    status?: string;
  }[];
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTestSuites: number;
  success: boolean;
}

let passed = 0;
let failed = 0;
let skipped = 0;
let exitCode = 0;
/** Failed tests, repeated after the bench output so the end of a CI log names them. */
const failures: string[] = [];
process.stdout.write("\n── docs-cms ──\n");
const tsx = join(repo, "node_modules/.bin/tsx");
if (
  spawnSync(tsx, [join(repo, "tooling/docs-check/src/main.ts")], { cwd: repo, stdio: "inherit" }).status !== 0
) {
  exitCode = 1;
}
for (const phase of phases) {
  const outputFile = join(reports, `${phase.name}.json`);
  process.stdout.write(`\n── test phase: ${phase.name} ──\n`);
  const run = spawnSync(
    vitest,
    [...phase.args, "--reporter=default", "--reporter=json", `--outputFile.json=${outputFile}`],
    {
      cwd: repo,
      stdio: "inherit",
    },
  );
  if (run.status !== 0) exitCode = 1;
  try {
    const report = JSON.parse(readFileSync(outputFile, "utf8")) as Report;
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    for (const file of report.testResults ?? []) {
      const where = file.name.startsWith(repo) ? file.name.slice(repo.length + 1) : file.name;
      if (file.status === "failed" && file.message) failures.push(`${where}: ${firstLines(file.message)}`);
      for (const test of file.assertionResults ?? []) {
        if (test.status !== "failed") continue;
        failures.push(`${where} > ${test.fullName}: ${firstLines(test.failureMessages?.[0] ?? "")}`);
      }
    }
  } catch {
    process.stdout.write(`phase ${phase.name} wrote no report\n`);
    exitCode = 1;
  }
}
/**
 * `pnpm bench MODE --smoke`; true when it completed. Its standard error is passed through as it
 * comes and, when it fails, its last lines join `failures`, since a CI log is read from the end.
 */
async function smoke(mode: string): Promise<boolean> {
  const child = spawn(tsx, [join(repo, "tooling/bench/src/main.ts"), mode, "--smoke"], {
    cwd: repo,
    stdio: ["ignore", "inherit", "pipe"],
  });
  let tail = "";
  child.stderr.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString()).slice(-4096);
  });
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  if (code === 0) return true;
  const last = tail.trimEnd().split("\n").slice(-8).join("\n    ");
  failures.push(`bench ${mode} --smoke: exit ${code ?? signal}${last ? `\n    ${last}` : ""}`);
  return false;
}
if (!noBench) process.stdout.write("\n── bench smoke ──\n");
let benchOk = true;
if (!noBench) for (const mode of ["kv", "ts", "graph"]) benchOk = (await smoke(mode)) && benchOk;
if (!benchOk) exitCode = 1;
if (passed === 0) exitCode = 1;
process.stdout.write(
  `\n${passed} passed, ${failed} failed, ${skipped} skipped; bench smoke ${noBench ? "skipped" : benchOk ? "ok" : "FAILED"}\n`,
);
if (failures.length > 0) process.stdout.write(`failed:\n${failures.map((f) => `  ${f}`).join("\n")}\n`);
process.exit(exitCode);

function firstLines(message: string): string {
  return message.split("\n").slice(0, 6).join("\n    ");
}
