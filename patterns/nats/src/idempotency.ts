import type { KV } from "@nats-io/kv";
import type { Waiter } from "./batches.js";
import { isAlreadyCreated } from "./errors.js";
import { checkedKey, encodeToken } from "./key-encoding.js";

/** A claimed idempotency key, released again when the write it guards fails. */
export interface Claim {
  release(): Promise<void>;
}

const EMPTY = new Uint8Array();
const utf8 = new TextEncoder();

/**
 * Records an idempotency key in the namespace's idempotency bucket with `create`, which the
 * server applies only when the key is absent (an expected-last-sequence check): of concurrent
 * replays exactly one wins and the others are told they replayed.
 *
 * @example const claim = await claimKey(kv, "1700000000-ab12", wait, signal); if (claim === "replayed") return
 */
export async function claimKey(
  kv: KV,
  idempotencyKey: string,
  wait: Waiter,
  signal: AbortSignal | undefined,
): Promise<Claim | "replayed"> {
  const key = checkedKey(encodeToken(utf8.encode(idempotencyKey)), "idempotency_key");
  const creating = kv.create(key, EMPTY);
  // Only our own claim is released: the delete expects the revision our create made.
  const release = (revision: number) => kv.delete(key, { previousSeq: revision }).catch(() => undefined);
  try {
    const revision = await wait(creating, signal);
    return { release: () => release(revision) };
  } catch (error) {
    if (isAlreadyCreated(error)) return "replayed";
    // We stopped waiting but the create may still land; a claim without its write would turn the
    // client's retry into a false replay, so release it once it does.
    void creating.then(release, () => undefined);
    throw error;
  }
}
