import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { abortError, type PrismError, throwIfAborted } from "@prism/core";
import { type BucketSettings, Buckets, serverFeatures } from "./buckets.js";
import { toPrismError, unavailable } from "./errors.js";
import type { ServerAddress } from "./nats-options.js";

/** What one live connection offers the KeyValue code. */
export interface NatsSession {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  /** Bucket handles made on this connection. */
  readonly buckets: Buckets;
}

/** What a {@link NatsLink} needs: where to connect, its bounds, and how buckets are made. */
export interface LinkSettings extends BucketSettings {
  backendName: string;
  address: ServerAddress;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Told the server's message size limit and version after each (re)connection. */
  onConnected?: (maxPayloadBytes: number, version: string | undefined) => void;
}

/**
 * One backend's link to NATS. It connects on first use (a server that is down when the gateway
 * starts must not stop the gateway), lets the client reconnect by itself after a server restart,
 * and meanwhile makes calls fail fast with Unavailable instead of queueing behind the client's
 * reconnect loop until they time out.
 */
export class NatsLink {
  #session: NatsSession | undefined;
  #connecting: Promise<NatsSession> | undefined;
  #connected = false;
  /** Rejecters of calls in flight, told when the connection drops so they stop waiting for it. */
  readonly #waiting = new Set<(error: PrismError) => void>();
  #closing: Promise<void> | undefined;

  constructor(private readonly settings: LinkSettings) {}

  /**
   * The live session, connecting first if needed. Rejects with Unavailable while the client is
   * reconnecting, and with the caller's abort error when `signal` fires.
   */
  async session(signal?: AbortSignal): Promise<NatsSession> {
    throwIfAborted(signal);
    if (this.#closing) throw this.unavailable(new Error("backend closed"));
    if (this.#session) {
      if (!this.#connected) throw this.unavailable(new Error("reconnecting"));
      return this.#session;
    }
    this.#connecting ??= this.connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.call(this.#connecting, signal);
  }

  /**
   * Waits for `work`, giving up when the caller's `signal` fires (its abort error) or the
   * connection drops (Unavailable). The work itself is bounded by the client's request timeout.
   */
  call<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) {
      work.catch(() => undefined);
      return Promise.reject(abortError(signal));
    }
    // Reconnecting: fail fast. (While the first connect runs there is no session yet: wait.)
    if (this.#session && !this.#connected) {
      work.catch(() => undefined);
      return Promise.reject(this.unavailable(new Error("connection lost")));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(abortError(signal!));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.add(reject);
      work.then(resolve, reject).finally(() => {
        signal?.removeEventListener("abort", onAbort);
        this.#waiting.delete(reject);
      });
    });
  }

  /** Drains the connection (bounded) and closes it. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.shutdown();
    return this.#closing;
  }

  private async shutdown(): Promise<void> {
    const session = this.#session ?? (await this.#connecting?.catch(() => undefined));
    if (!session || session.nc.isClosed()) return;
    if (this.#connected) {
      // Drain lets acknowledged work finish; a stuck server must not hold up shutdown.
      const timeout = new Promise((resolve) => setTimeout(resolve, this.settings.connectTimeoutMs).unref());
      await Promise.race([session.nc.drain().catch(() => undefined), timeout]);
    }
    await session.nc.close().catch(() => undefined);
  }

  private async connect(): Promise<NatsSession> {
    const { address, connectTimeoutMs, requestTimeoutMs, backendName } = this.settings;
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({
        servers: address.servers,
        ...(address.user === undefined ? {} : { user: address.user, pass: address.pass }),
        ...(address.token === undefined ? {} : { token: address.token }),
        name: `prism-${backendName}`,
        timeout: connectTimeoutMs,
        // Reconnect forever, quickly: a restarted server should be back in use within a second.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        // Notice a silently dead server within ~20s instead of the default two minutes.
        pingInterval: 10_000,
        maxPingOut: 2,
      });
      // Also checks that JetStream is enabled for the account (one round trip).
      const jsm = await jetstreamManager(nc, { timeout: requestTimeoutMs });
      const js = jetstream(nc, { timeout: requestTimeoutMs });
      const kvm = new Kvm(js);
      if (this.#closing) throw new Error("backend closed while connecting");
      const features = serverFeatures(nc.info?.version);
      const session: NatsSession = {
        nc,
        jsm,
        buckets: new Buckets(nc, requestTimeoutMs, kvm, jsm, js, this.settings, features),
      };
      this.adopt(session);
      return session;
    } catch (error) {
      await nc?.close().catch(() => undefined);
      throw toPrismError(error, backendName);
    }
  }

  private adopt(session: NatsSession): void {
    this.#session = session;
    this.markConnected(session.nc);
    this.watchStatus(session.nc).catch(() => undefined);
    // A connection closed for good (not by us) is replaced by a fresh one on the next call.
    void session.nc.closed().then(() => {
      if (this.#session !== session) return;
      this.#session = undefined;
      this.markLost();
    });
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") this.markLost();
      else if (status.type === "reconnect") this.markConnected(nc);
    }
  }

  private markConnected(nc: NatsConnection): void {
    this.#connected = true;
    const maxPayload = nc.info?.max_payload;
    if (maxPayload !== undefined) this.settings.onConnected?.(maxPayload, nc.info?.version);
  }

  private markLost(): void {
    this.#connected = false;
    const error = this.unavailable(new Error("connection lost"));
    for (const reject of this.#waiting) reject(error);
    this.#waiting.clear();
  }

  private unavailable(cause: Error): PrismError {
    return unavailable(this.settings.backendName, cause);
  }
}
