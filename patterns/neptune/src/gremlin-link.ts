import { abortError, PrismError, throwIfAborted } from "@prism/core";
import gremlin from "gremlin";
import { GremlinTimeoutError, isConnectionError, toPrismError } from "./errors.js";
import type { NeptuneOptions } from "./neptune-options.js";

type Source = gremlin.process.GraphTraversalSource;
type Traversal = gremlin.process.GraphTraversal;

const MIME_TYPES = {
  graphbinary: "application/vnd.graphbinary-v1.0",
  graphson3: "application/vnd.gremlin-v3.0+json",
} as const;

/** What the link needs of the options, plus the resolved URL and CA certificates. */
export interface LinkSettings
  extends Pick<NeptuneOptions, "serializer" | "connectTimeoutMs" | "requestTimeoutMs"> {
  url: string;
  ca: string | undefined;
}

/**
 * One WebSocket to the Gremlin endpoint, shared by every call (the protocol multiplexes requests
 * by id), opened on first use. The driver has no timeouts of its own, so the link bounds the
 * handshake and every request, and hands a call's abort straight back to the caller; a failed or
 * timed-out connection is dropped and the next call opens a new one. Traversals are sent as
 * bytecode: no Gremlin script is ever built from user input.
 */
export class GremlinLink {
  #current: Connected | undefined;
  #closed = false;

  constructor(
    private readonly backendName: string,
    private readonly settings: LinkSettings,
  ) {}

  /**
   * Runs one traversal and returns its results.
   *
   * @example const [count] = await link.run(signal, (g) => g.V().limit(1).count());
   */
  async run(signal: AbortSignal | undefined, build: (g: Source) => Traversal): Promise<unknown[]> {
    throwIfAborted(signal);
    if (this.#closed) {
      throw new PrismError("Unavailable", `backend ${this.backendName} is closed`, {
        reason: "BACKEND_UNAVAILABLE",
      });
    }
    const current = this.#connect();
    try {
      await bounded(current.opening, this.settings.connectTimeoutMs, signal, "connect");
      const traversal = build(current.source);
      return (await bounded(
        traversal.toList(),
        this.settings.requestTimeoutMs,
        signal,
        "request",
      )) as unknown[];
    } catch (error) {
      if (!signal?.aborted && isConnectionError(error)) this.#drop(current);
      throw toPrismError(error, this.backendName, signal);
    }
  }

  /** Closes the connection; later calls fail with Unavailable. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const current = this.#current;
    this.#current = undefined;
    await current?.connection.close().catch(() => undefined);
  }

  #connect(): Connected {
    if (this.#current) return this.#current;
    const connection = new gremlin.driver.DriverRemoteConnection(this.settings.url, {
      mimeType: MIME_TYPES[this.settings.serializer],
      // Any ws-specific option makes the driver use the `ws` package rather than a global
      // WebSocket (Node 22+), whose errors it does not handle.
      headers: {},
      ca: this.settings.ca === undefined ? undefined : [this.settings.ca],
      rejectUnauthorized: true,
    });
    // The server stops a traversal running past the request bound (Neptune honours it too).
    const source = gremlin.process.AnonymousTraversalSource.traversal()
      .withRemote(connection)
      .with_("evaluationTimeout", this.settings.requestTimeoutMs);
    const current: Connected = { connection, source, opening: connection.open() };
    // A failed open is reported to whichever call awaits it, and the next call opens anew.
    current.opening.catch(() => this.#drop(current));
    this.#current = current;
    return current;
  }

  #drop(current: Connected): void {
    if (this.#current !== current) return;
    this.#current = undefined;
    // Not awaited: against a server that stopped answering, the close handshake never completes.
    void current.connection.close().catch(() => undefined);
  }
}

interface Connected {
  connection: gremlin.driver.DriverRemoteConnection;
  source: Source;
  opening: Promise<void>;
}

/** `promise`, or a GremlinTimeoutError after `timeoutMs`, or the abort error once `signal` fires. */
function bounded<T>(
  promise: Promise<T>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  promise.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => finish(() => reject(new GremlinTimeoutError(`${what} timed out`))),
      timeoutMs,
    );
    const onAbort = () => finish(() => reject(abortError(signal as AbortSignal)));
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
