import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV, Kvm, KvOptions } from "@nats-io/kv";
import { isStreamNotFound } from "./errors.js";
import { VALUE_HEADER_BYTES } from "./value-encoding.js";

/** How buckets are named and created. */
export interface BucketSettings {
  bucketPrefix: string;
  replicas: number;
  maxValueBytes: number;
}

/**
 * The JetStream stream behind a bucket. Listing and purging go through the stream API: one
 * request each, bounded by the request timeout (see `bucket-items.ts` for why not `kv.keys()`).
 */
export interface BucketStream {
  jsm: JetStreamManager;
  /** `KV_<bucket>` */
  name: string;
  /** `$KV.<bucket>.`: a KV key's subject is this prefix followed by the key. */
  subjectPrefix: string;
}

/** How long an idempotency key is remembered (the idempotency bucket's max age). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * The JetStream KV buckets of one connection, per namespace:
 * - `<prefix>_<namespace>` holds the items, created on the first write;
 * - `<prefix>_<namespace>_idem` holds applied idempotency keys. It is a bucket of its own because
 *   NATS 2.9 has no per-key TTL: the bucket's max age is the idempotency window, so markers expire
 *   instead of piling up, and scans never read past them.
 *
 * Handles are cached (the namespace's bucket exists from then on); a caller that finds a bucket
 * gone (deleted behind our back, a server wiped) calls {@link forget} and asks again.
 */
export class Buckets {
  readonly #data = new Map<string, Promise<KV>>();
  readonly #idempotency = new Map<string, Promise<KV>>();

  constructor(
    private readonly kvm: Kvm,
    private readonly jsm: JetStreamManager,
    private readonly settings: BucketSettings,
  ) {}

  /** The namespace's item bucket, created if missing. */
  forWrite(namespace: string): Promise<KV> {
    return cached(this.#data, namespace, () =>
      this.kvm.create(this.dataName(namespace), {
        ...this.common(),
        description: `Prism KeyValue namespace ${namespace}`,
        maxValueSize: this.settings.maxValueBytes + VALUE_HEADER_BYTES,
      }),
    );
  }

  /** The namespace's item bucket, or `undefined` when nothing was ever written to it. */
  async forRead(namespace: string): Promise<KV | undefined> {
    const known = this.#data.get(namespace);
    if (known) return known;
    const name = this.dataName(namespace);
    try {
      await this.jsm.streams.info(`KV_${name}`);
    } catch (error) {
      // Not cached: another gateway instance may create the bucket at any moment.
      if (isStreamNotFound(error)) return undefined;
      throw error;
    }
    return cached(this.#data, namespace, () => this.kvm.open(name, { allow_direct: false }));
  }

  /** The namespace's idempotency-key bucket, created if missing. */
  forIdempotency(namespace: string): Promise<KV> {
    return cached(this.#idempotency, namespace, () =>
      this.kvm.create(`${this.dataName(namespace)}_idem`, {
        ...this.common(),
        description: `Prism idempotency keys of namespace ${namespace}`,
        ttl: IDEMPOTENCY_WINDOW_MS,
        maxValueSize: 1024,
      }),
    );
  }

  /** The stream behind the namespace's item bucket, for requests the KV API does not offer. */
  stream(namespace: string): BucketStream {
    const name = this.dataName(namespace);
    return { jsm: this.jsm, name: `KV_${name}`, subjectPrefix: `$KV.${name}.` };
  }

  /** Drops a cached handle whose bucket turned out to be gone. */
  forget(namespace: string): void {
    this.#data.delete(namespace);
    this.#idempotency.delete(namespace);
  }

  private dataName(namespace: string): string {
    return `${this.settings.bucketPrefix}_${namespace}`;
  }

  private common(): Partial<KvOptions> {
    return {
      history: 1,
      replicas: this.settings.replicas,
      // Reads go to the stream leader: with replicas > 1 a direct get may be answered by a
      // follower that has not yet applied the write the caller just made.
      allow_direct: false,
    };
  }
}

/** One in-flight or finished creation per name; a failed one is forgotten so the next call retries. */
function cached(map: Map<string, Promise<KV>>, key: string, make: () => Promise<KV>): Promise<KV> {
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
