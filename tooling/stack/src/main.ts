/**
 * `pnpm stack install | up | down | status | env [server...]`: the local test stack CLI.
 * See tooling/stack/README.md.
 */
import { ENDPOINT_ENV_VARS, stackDir, stackEndpoints } from "./config.js";
import { SERVER_NAMES, type ServerName } from "./server.js";
import { installServer, isHealthy, runningPid, stackServer, startServer, stopServer } from "./stack.js";
import { installBrowser, installTools } from "./tools.js";

const USAGE = `usage: pnpm stack <command> [${SERVER_NAMES.join("|")} ...]
  install        install missing Debian packages and Maven jars
  up             install if needed, start servers and wait until each answers
  status         address and health of each server (exit 1 if any is down)
  down [--purge] stop what up started; --purge also deletes data (downloads stay)
  env            print the export lines the tests read`;

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)}s`;
const logFor = (name: ServerName) => (message: string) => console.log(`[${name}] ${message}`);

async function install(names: readonly ServerName[]): Promise<void> {
  // One at a time: apt-get holds a global lock and Maven shares one local repository.
  for (const name of names) {
    const started = Date.now();
    const installed = await installServer(name, logFor(name));
    const title = stackServer(name).title;
    logFor(name)(installed ? `installed ${title} (${seconds(started)})` : `${title} already installed`);
  }
  const started = Date.now();
  const log = (message: string) => console.log(`[tools] ${message}`);
  if (await installTools(log)) log(`installed grpcurl (${seconds(started)})`);
  const browserStarted = Date.now();
  if (await installBrowser(log)) log(`installed chromium (${seconds(browserStarted)})`);
}

async function up(names: readonly ServerName[]): Promise<boolean> {
  await install(names);
  const results = await Promise.allSettled(
    names.map(async (name) => {
      const started = Date.now();
      const outcome = await startServer(name, logFor(name));
      const address = stackServer(name).address;
      if (outcome.state === "answering, not ours") {
        logFor(name)(
          `${address} already answers, but this stack did not start it (no live pid file); left alone`,
        );
      } else {
        logFor(name)(`${outcome.state} (pid ${outcome.pid}), answering at ${address} (${seconds(started)})`);
      }
    }),
  );
  let ok = true;
  results.forEach((result, i) => {
    if (result.status === "rejected") {
      ok = false;
      console.error(
        `\n[${names[i]}] FAILED: ${result.reason instanceof Error ? result.reason.message : result.reason}`,
      );
    }
  });
  if (ok) console.log('stack is up; `eval "$(pnpm -s stack env)"` exports its addresses');
  return ok;
}

async function down(names: readonly ServerName[], purge: boolean): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      const started = Date.now();
      const outcome = await stopServer(name, { purge });
      logFor(name)(`${outcome}${purge ? ", data deleted" : ""} (${seconds(started)})`);
    }),
  );
}

async function status(names: readonly ServerName[]): Promise<boolean> {
  const rows = await Promise.all(
    names.map(async (name) => {
      const server = stackServer(name);
      const healthy = await isHealthy(name);
      const pid = runningPid(server);
      return [name, healthy ? "up" : "down", pid === undefined ? "-" : String(pid), server.address];
    }),
  );
  const table = [["SERVER", "HEALTH", "PID", "ADDRESS"], ...rows];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const format = (row: string[]): string => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ");
  for (const row of table) console.log(format(row).trimEnd());
  console.log(`stack dir: ${stackDir()}`);
  return rows.every((row) => row[1] === "up");
}

function printEnv(): void {
  const endpoints = stackEndpoints();
  for (const [key, variable] of Object.entries(ENDPOINT_ENV_VARS)) {
    console.log(`export ${variable}=${endpoints[key as keyof typeof endpoints]}`);
  }
}

function parseNames(args: readonly string[]): ServerName[] {
  const flags = args.filter((arg) => arg.startsWith("--") && arg !== "--purge");
  if (flags.length > 0) throw new Error(`unknown option ${flags.join(", ")}\n${USAGE}`);
  const names = args.filter((arg) => !arg.startsWith("--"));
  const unknown = names.filter((name) => !(SERVER_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown server ${unknown.join(", ")}\n${USAGE}`);
  return names.length === 0 ? [...SERVER_NAMES] : (names as ServerName[]);
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const names = parseNames(rest);
  switch (command) {
    case "install":
      await install(names);
      return 0;
    case "up":
      return (await up(names)) ? 0 : 1;
    case "down":
      await down(names, rest.includes("--purge"));
      return 0;
    case "status":
      return (await status(names)) ? 0 : 1;
    case "env":
      printEnv();
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
