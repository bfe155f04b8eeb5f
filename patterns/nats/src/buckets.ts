import type { JetStreamClient, JetStreamManager, StreamConfig, StreamInfo } from "@nats-io/jetstream";
import type { KV, Kvm, KvOptions } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { isStreamNotFound } from "./errors.js";
import { VALUE_OVERHEAD_BYTES } from "./value-encoding.js";

/** How buckets are named and created. */
export interface BucketSettings {
  bucketPrefix: string;
  replicas: number;
  maxValueBytes: number;
}

/** What the connected server offers (see {@link serverFeatures}). */
export interface ServerFeatures {
  /** Per-message TTL (`allow_msg_ttl`, `Nats-TTL`): NATS 2.11. */
  messageTtl: boolean;
  /** Batched direct gets, among them `multi_last`: NATS 2.11. */
  multiLast: boolean;
}

/** The features of a server by its version (`nc.info.version`), e.g. "2.15.2". */
export function serverFeatures(version: string | undefined): ServerFeatures {
  const [major = 0, minor = 0] = (version ?? "").split(".").map((part) => Number.parseInt(part, 10));
  const atLeast211 = major > 2 || (major === 2 && minor >= 11);
  return { messageTtl: atLeast211, multiLast: atLeast211 };
}

/**
 * The JetStream stream behind a namespace's bucket, used directly rather than through the KV API:
 * one message per item on subject `$KV.<bucket>.<id token>.<key token>` (see `key-encoding.ts`),
 * at most one per subject (`max_msgs_per_subject: 1`), read by subject with direct gets, removed
 * with purges by subject, expiring by per-message TTL where the server has it.
 */
export interface BucketStream {
  nc: NatsConnection;
  /** Bound of one request made on `nc` directly. */
  timeoutMs: number;
  jsm: JetStreamManager;
  js: JetStreamClient;
  /** `KV_<bucket>` */
  name: string;
  /** `$KV.<bucket>.`: an item's subject is this prefix followed by its key. */
  subjectPrefix: string;
  /** Direct gets are on (`allow_direct`); else reads ask the leader through the stream API. */
  direct: boolean;
  /** A record can be read in one `multi_last` direct get (server ≥ 2.11 and `direct`). */
  multiLast: boolean;
  /** The stream accepts `Nats-TTL` (`allow_msg_ttl`). */
  messageTtl: boolean;
}

/** How long an idempotency key is remembered (the idempotency bucket's max age). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * The streams of one connection, per namespace:
 * - `KV_<prefix>_<namespace>` holds the items, created on the first write. Streams made by
 *   earlier versions (the same subjects and values, but no direct gets and no TTL) are updated in
 *   place on the first write: nothing is rewritten or lost;
 * - the KV bucket `<prefix>_<namespace>_idem` holds applied idempotency keys; its max age is the
 *   idempotency window, so markers expire instead of piling up, and scans never read past them.
 *
 * Handles are cached (the namespace's stream exists from then on); a caller that finds a stream
 * gone (deleted behind our back, a server wiped) calls {@link forget} and asks again.
 */
export class Buckets {
  readonly #data = new Map<string, Promise<BucketStream>>();
  readonly #idempotency = new Map<string, Promise<KV>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
    private readonly kvm: Kvm,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly settings: BucketSettings,
    private readonly features: ServerFeatures,
  ) {}

  /** The namespace's item stream, created (or brought up to date) if needed. */
  forWrite(namespace: string): Promise<BucketStream> {
    return cached(this.#data, namespace, async () => {
      const name = this.streamName(namespace);
      let info: StreamInfo;
      try {
        info = await this.jsm.streams.info(name);
      } catch (error) {
        if (!isStreamNotFound(error)) throw error;
        info = await this.jsm.streams.add(this.config(namespace));
      }
      const wanted = this.config(namespace);
      const { config } = info;
      if (
        config.allow_direct !== wanted.allow_direct ||
        (wanted.allow_msg_ttl === true && config.allow_msg_ttl !== true) ||
        (config.max_msg_size ?? -1) < (wanted.max_msg_size ?? -1)
      ) {
        info = await this.jsm.streams.update(name, {
          ...config,
          allow_direct: wanted.allow_direct,
          ...(wanted.allow_msg_ttl ? { allow_msg_ttl: true } : {}),
          max_msg_size: Math.max(config.max_msg_size ?? -1, wanted.max_msg_size ?? -1),
        });
      }
      return this.handle(namespace, info);
    });
  }

  /** The namespace's item stream, or `undefined` when nothing was ever written to it. */
  async forRead(namespace: string): Promise<BucketStream | undefined> {
    const known = this.#data.get(namespace);
    if (known) return known;
    let info: StreamInfo;
    try {
      info = await this.jsm.streams.info(this.streamName(namespace));
    } catch (error) {
      // Not cached: another gateway instance may create the stream at any moment.
      if (isStreamNotFound(error)) return undefined;
      throw error;
    }
    // A stream of an earlier version stays as it is until the first write updates it.
    const stream = this.handle(namespace, info);
    return stream.direct ? cached(this.#data, namespace, async () => stream) : stream;
  }

  /** The namespace's idempotency-key bucket, created if missing. */
  forIdempotency(namespace: string): Promise<KV> {
    return cached(this.#idempotency, namespace, () =>
      this.kvm.create(`${this.bucketName(namespace)}_idem`, {
        history: 1,
        replicas: this.settings.replicas,
        // Claims are read by the leader only (create is an expected-sequence check there).
        allow_direct: false,
        description: `Prism idempotency keys of namespace ${namespace}`,
        ttl: IDEMPOTENCY_WINDOW_MS,
        maxValueSize: 1024,
      } satisfies Partial<KvOptions>),
    );
  }

  /** Drops a cached handle whose stream turned out to be gone. */
  forget(namespace: string): void {
    this.#data.delete(namespace);
    this.#idempotency.delete(namespace);
  }

  private handle(namespace: string, info: StreamInfo): BucketStream {
    const direct = info.config.allow_direct === true;
    return {
      nc: this.nc,
      timeoutMs: this.timeoutMs,
      jsm: this.jsm,
      js: this.js,
      name: info.config.name,
      subjectPrefix: `$KV.${this.bucketName(namespace)}.`,
      direct,
      multiLast: direct && this.features.multiLast,
      messageTtl: info.config.allow_msg_ttl === true,
    };
  }

  /** The item stream's configuration, as the KV API would make a bucket, plus what we rely on. */
  private config(namespace: string): Partial<StreamConfig> & { name: string } {
    const bucket = this.bucketName(namespace);
    return {
      name: this.streamName(namespace),
      description: `Prism KeyValue namespace ${namespace}`,
      subjects: [`$KV.${bucket}.>`],
      retention: "limits" as StreamConfig["retention"],
      storage: "file" as StreamConfig["storage"],
      discard: "new" as StreamConfig["discard"],
      max_msgs_per_subject: 1,
      max_msg_size: this.settings.maxValueBytes + VALUE_OVERHEAD_BYTES,
      num_replicas: this.settings.replicas,
      allow_rollup_hdrs: true,
      deny_delete: true,
      // Reads go by subject straight to the stream (no API round trip, no subject walk). With
      // replicas > 1 any replica answers, so a read may briefly miss a write just acknowledged
      // (ADR-0010).
      allow_direct: true,
      ...(this.features.messageTtl ? { allow_msg_ttl: true } : {}),
    };
  }

  private bucketName(namespace: string): string {
    return `${this.settings.bucketPrefix}_${namespace}`;
  }

  private streamName(namespace: string): string {
    return `KV_${this.bucketName(namespace)}`;
  }
}

/** One in-flight or finished creation per name; a failed one is forgotten so the next call retries. */
function cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let pending = map.get(key);
  if (!pending) {
    pending = make();
    map.set(key, pending);
    pending.catch(() => {
      if (map.get(key) === pending) map.delete(key);
    });
  }
  return pending;
}
