import type { Principal } from "../context.js";

/**
 * The seams between the parts of schema-driven PII handling (DESIGN §6). A namespace with a
 * `schema:` gets a {@link ValuePolicy}; the KeyValue and TimeSeries services pass every value
 * through it, and it uses a {@link FieldCipher} for `encrypt` fields and an {@link AuditSink}
 * for `audit` fields.
 */

/** Who reads or writes a value, as far as PII handling cares. */
export interface ValueCall {
  readonly namespace: string;
  readonly principal: Principal;
  /** The principal is on the namespace's `pii` list: PII comes back in clear. */
  readonly piiClear: boolean;
  readonly signal: AbortSignal;
}

/**
 * How one schema namespace stores and shows its values (KeyValue values, TimeSeries payloads).
 * Both directions keep the message shape, so a typed client decodes what it reads.
 */
export interface ValuePolicy {
  /** Fully qualified name of the schema message. */
  readonly messageName: string;
  /**
   * The client's value → the bytes to store: `encrypt` fields sealed, an audit entry appended
   * when `audit` fields are set. Throws `InvalidArgument` (reason VALUE_SCHEMA_MISMATCH) when the
   * value does not decode as the schema message.
   */
  toStorage(id: string, value: Uint8Array, call: ValueCall): Promise<Uint8Array>;
  /**
   * Stored bytes → what this caller sees: sealed fields opened, PII masked unless
   * `call.piiClear`; an audit entry appended when `audit` fields are present.
   */
  fromStorage(id: string, value: Uint8Array, call: ValueCall): Promise<Uint8Array>;
}

/** Authenticated encryption of field bytes under a namespace's current data key. */
export interface FieldCipher {
  /**
   * Seals `plaintext` with AES-256-GCM under the namespace's current data key; the result names
   * its key id, so it opens after rotation.
   */
  seal(namespace: string, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Opens what `seal` made, with whichever key sealed it; throws on tampering. */
  open(namespace: string, sealed: Uint8Array): Promise<Uint8Array>;
  /** The key id a sealed value names (to find values under an old key). */
  keyIdOf(sealed: Uint8Array): string;
  /** The key id new seals of `namespace` use. */
  currentKeyId(namespace: string): Promise<string>;
}

export type AuditOperation = "read" | "write";

/** One read or write of audited fields. */
export interface AuditRecord {
  /** `user:SUBJECT`, `service:SUBJECT` or `anonymous`. */
  principal: string;
  namespace: string;
  id: string;
  fields: readonly string[];
  operation: AuditOperation;
}

/** Where audit records go: an append-only, hash-chained log. */
export interface AuditSink {
  /** Appends durably before resolving (a read or write of audited fields waits for it). */
  append(record: AuditRecord): Promise<void>;
}
