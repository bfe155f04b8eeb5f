/** The servers the stack runs, in the order `up` reports them. */
export const SERVER_NAMES = ["postgres", "nats", "kafka", "gremlin"] as const;

/** One of {@link SERVER_NAMES}. */
export type ServerName = (typeof SERVER_NAMES)[number];

/** Where progress goes; the CLI prefixes each line with the server's name. */
export type Log = (message: string) => void;

/** A Unix account to run a server as (Postgres refuses to run as root). */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/** A command to run detached, with its stdout and stderr appended to the server's log. */
export interface LaunchSpec {
  /** @example "/usr/bin/nats-server" */
  readonly command: string;
  /** @example ["-c", "/repo/.stack/nats/nats.conf"] */
  readonly args: readonly string[];
  /** @example "/repo/.stack/nats" */
  readonly cwd: string;
  /** Extra environment merged over the caller's. @example { JAVA_HOME: "/usr/lib/jvm/java-17" } */
  readonly env?: Readonly<Record<string, string>>;
  /** Run as this account instead of the caller. @example { uid: 101, gid: 104 } */
  readonly runAs?: RunAs;
}

/**
 * One server of the stack. Implementations only know their own server; starting, stopping, pid
 * files and waiting live in `stack.ts`.
 */
export interface StackServer {
  /** @example "kafka" */
  readonly name: ServerName;
  /** Human name with version. @example "Apache Kafka 3.9.1 (KRaft)" */
  readonly title: string;
  /** The address clients use. @example "127.0.0.1:19092" */
  readonly address: string;
  /** The server's directory under the stack dir. @example "/repo/.stack/kafka" */
  readonly dir: string;
  /** Data that `down --purge` deletes; downloads and generated config stay. @example ["/repo/.stack/kafka/data"] */
  readonly dataDirs: readonly string[];
  /** Loopback TCP ports the server binds; checked before launch. @example [19092, 19093] */
  readonly ports: readonly number[];
  /** How long `up` waits for the server to answer after launching it. @example 90_000 */
  readonly startTimeoutMs: number;
  /** Signal for a graceful stop. @example "SIGINT" (Postgres fast shutdown) */
  readonly stopSignal: NodeJS.Signals;
  /**
   * Signal that simulates a crash: no graceful shutdown, data as of the crash. @example "SIGKILL"
   * (Postgres: SIGQUIT, an immediate shutdown that still stops its backends; after a SIGKILL
   * the orphaned backends would block the restart.)
   */
  readonly crashSignal: NodeJS.Signals;
  /**
   * Text that must appear in `/proc/<pid>/cmdline`, so a recycled pid is never mistaken for the
   * server. @example "/repo/.stack/nats/nats.conf"
   */
  readonly processMarker: string;
  /** Whether binaries and jars are present. @example if (!(await s.isInstalled())) await s.install(log) */
  isInstalled(): Promise<boolean>;
  /** Installs Debian packages or Maven jars; does nothing that is already present. */
  install(log: Log): Promise<void>;
  /** Writes config and initialises data on first use (idempotent), then says how to launch. */
  prepare(log: Log): Promise<LaunchSpec>;
  /**
   * One-time setup that needs the running server (Postgres: role and database). Called repeatedly
   * while the server starts, so it must be idempotent and throw until the server answers.
   */
  afterLaunch?(timeoutMs: number): Promise<void>;
  /** Resolves when the server really answers a request; throws otherwise. @example await s.probe(3_000) */
  probe(timeoutMs: number): Promise<void>;
}
