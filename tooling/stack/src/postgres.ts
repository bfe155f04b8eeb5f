import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import pg from "pg";
import { PORTS, POSTGRES_CREDENTIALS, STACK_ENDPOINTS } from "./config.js";
import { run } from "./process.js";
import type { LaunchSpec, Log, RunAs, StackServer } from "./server.js";
import { aptInstall, ensureSystemUser, isRoot } from "./system.js";

/**
 * Settings for a throwaway test server: durability off (fsync, synchronous_commit,
 * full_page_writes) because the data is disposable, and room for many parallel test pools.
 */
const SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: "127.0.0.1",
  max_connections: "200",
  shared_buffers: "128MB",
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
  log_min_messages: "warning",
  log_connections: "off",
};

/**
 * Local socket connections are trusted (the stack bootstraps through them as the superuser);
 * TCP connections need a password. Durability is off at initdb too (`--no-sync`).
 */
const INITDB_FLAGS: readonly string[] = [
  ...["-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"],
  ...["--auth-local=trust", "--auth-host=scram-sha-256"],
];

/** Debian's PostgreSQL binaries: the newest `/usr/lib/postgresql/<major>/bin` with initdb. */
function findBinDir(): { bin: string; major: string } | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((major) => existsSync(join(root, major, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? { bin: join(root, majors[0], "bin"), major: majors[0] } : undefined;
}

/** PostgreSQL from the Debian package, run as the `postgres` account when we are root. */
export function postgresServer(dir: string): StackServer {
  const dataDir = join(dir, "data");
  const socketDir = join(dir, "run");

  const binaries = (): { bin: string; major: string } => {
    const found = findBinDir();
    if (!found) throw new Error("no /usr/lib/postgresql/*/bin/initdb; run `pnpm stack install`");
    return found;
  };
  // initdb and postgres refuse to run as root.
  const runAs = async (): Promise<RunAs | undefined> => (isRoot() ? ensureSystemUser("postgres") : undefined);

  return {
    name: "postgres",
    title: `PostgreSQL ${findBinDir()?.major ?? ""}`.trim(),
    address: STACK_ENDPOINTS.postgresUrl,
    dir,
    dataDirs: [dataDir],
    ports: [PORTS.postgres],
    startTimeoutMs: 30_000,
    stopSignal: "SIGINT",
    crashSignal: "SIGQUIT",
    processMarker: dataDir,

    async isInstalled() {
      return findBinDir() !== undefined;
    },

    async install(log: Log) {
      if (!findBinDir()) await aptInstall(["postgresql"], log);
      binaries();
    },

    async prepare(log: Log): Promise<LaunchSpec> {
      const { bin, major } = binaries();
      const user = await runAs();
      if (user) assertReachable(dir, user);
      mkdirSync(socketDir, { recursive: true });
      if (user) for (const path of [dir, socketDir]) chownSync(path, user.uid, user.gid);
      const versionFile = join(dataDir, "PG_VERSION");
      if (!existsSync(versionFile)) {
        log(`initdb ${dataDir}`);
        await run(join(bin, "initdb"), ["-D", dataDir, ...INITDB_FLAGS], {
          cwd: dir,
          runAs: user,
          logFile: join(dir, "initdb.log"),
        });
      }
      const dataMajor = readFileSync(versionFile, "utf8").trim();
      if (dataMajor !== major) {
        throw new Error(
          `${dataDir} was created by PostgreSQL ${dataMajor}, not ${major}; run \`pnpm stack down --purge\``,
        );
      }
      const settings = { ...SETTINGS, port: String(PORTS.postgres), unix_socket_directories: socketDir };
      return {
        command: join(bin, "postgres"),
        args: [
          "-D",
          dataDir,
          ...Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`]),
        ],
        cwd: dir,
        runAs: user,
      };
    },

    async afterLaunch(timeoutMs: number) {
      // Local socket connections are trusted, so the superuser can create the test role and database.
      await withClient(
        { host: socketDir, port: PORTS.postgres, user: "postgres", database: "postgres" },
        timeoutMs,
        ensureTestDatabase,
      );
    },

    async probe(timeoutMs: number) {
      await withClient({ connectionString: STACK_ENDPOINTS.postgresUrl }, timeoutMs, async (client) => {
        await client.query("SELECT 1");
      });
    },
  };
}

/**
 * The `postgres` account must be able to walk down to the data directory; a checkout under a
 * private home (/root is mode 700) is the usual reason it cannot.
 */
function assertReachable(dir: string, user: RunAs): void {
  for (let path = dirname(dir); path !== dirname(path); path = dirname(path)) {
    if (!existsSync(path)) continue; // created below by us, searchable
    const { mode, uid, gid } = statSync(path);
    const searchable = uid === user.uid ? mode & 0o100 : gid === user.gid ? mode & 0o010 : mode & 0o001;
    if (!searchable) {
      throw new Error(
        `the postgres account cannot enter ${path} (mode ${(mode & 0o777).toString(8)}); ` +
          "run `chmod o+x` on it or set PRISM_STACK_DIR to a directory outside it",
      );
    }
  }
}

async function ensureTestDatabase(client: pg.Client): Promise<void> {
  const { user, password, database } = POSTGRES_CREDENTIALS;
  const role = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [user]);
  if (role.rowCount === 0) {
    await client.query(`CREATE ROLE ${user} LOGIN CREATEDB PASSWORD '${password}'`);
  }
  const db = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
  if (db.rowCount === 0) await client.query(`CREATE DATABASE ${database} OWNER ${user}`);
}

async function withClient(
  config: pg.ClientConfig,
  timeoutMs: number,
  use: (client: pg.Client) => Promise<void>,
): Promise<void> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A server shutting down mid-probe emits 'error'; the failed query already reports it.
  client.on("error", () => {});
  try {
    await client.connect();
    await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}
