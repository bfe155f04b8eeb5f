import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  type Message,
  toBinary,
} from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { PrismError } from "@prism/core";
import type { MaskStyle, PiiKind } from "@prism/proto/prism/options/v1/options";
import type { Principal } from "../context.js";
import type { AuditSink, FieldCipher, ValueCall, ValuePolicy } from "./contract.js";
import { ENVELOPE_FIELD, type FieldPlan, innerMessage, isAnnotated, planMessage } from "./field-plan.js";
import { redactPii } from "./redact.js";

/** What a schema namespace's policy is built with; `undefined` = the feature is off. */
export interface ValuePolicySettings {
  /** Seals `encrypt` fields; a schema with such fields and no cipher is refused before this. */
  readonly cipher?: FieldCipher | undefined;
  /** Receives a record per read or write of `audit` fields. */
  readonly audit?: AuditSink | undefined;
  /** Key of MASK_STYLE_HASH masks (at least 16 bytes). */
  readonly hashKey: Uint8Array;
}

/**
 * The stored form of a value whose message has `encrypt` fields set:
 *
 *     tag(536870911, LEN) | length | sealed | clear
 *
 * `clear` is the message with every `encrypt` field cleared; `sealed` is `FieldCipher.seal` of a
 * small envelope {1: id, 2: the message holding only the `encrypt` fields}. Protobuf merges
 * concatenated encodings, so opening is `clear ++ fields`. The prefix identifies the form: no
 * schema may use field 536870911 (`planMessage` refuses it), so a value written before the schema
 * (or with nothing to seal) is read as it is. The id inside the sealed part ties it to its record:
 * a sealed part copied to another id fails to open. Stored values stay valid protobuf (the envelope
 * reads as an unknown field), the prefix is checked in O(1), and nothing is sealed when no
 * `encrypt` field is set.
 */
const ENVELOPE_PREFIX = new BinaryWriter().tag(ENVELOPE_FIELD, WireType.LengthDelimited).finish();

/**
 * {@link ValuePolicy} for a registered message, driven by its `prism.options.v1` annotations.
 *
 * - Writes: the value must decode as the message (else InvalidArgument VALUE_SCHEMA_MISMATCH);
 *   a client-sent envelope field is dropped; `encrypt` fields are sealed; `audit` fields set →
 *   an audit record (operation `write`) before the value is stored.
 * - Reads: the sealed part is opened; for callers off the `pii` list every PII field comes back
 *   masked in the same message shape — strings through {@link redactPii}, bytes, numbers, bools
 *   and enums cleared to their zero value, a `pii` message field masked throughout, repeated
 *   elements and map values each masked (map keys are kept), unknown fields dropped (they may be
 *   PII of a newer schema). `audit` fields present → an audit record (operation `read`).
 * - A stored value that does not decode (written before the schema, by another client) is
 *   returned as stored to `pii` readers and as an empty message to everyone else.
 *
 * Cost: a caller on the `pii` list reading a value with nothing sealed and a message without
 * `audit` fields gets the stored bytes back untouched (no decode).
 *
 * @example const policy = schemaValuePolicy(registry.getMessage("acme.v1.UserProfile")!, { cipher, audit, hashKey })
 */
export function schemaValuePolicy(
  message: DescMessage,
  settings: ValuePolicySettings,
): ValuePolicy | undefined {
  const plans = planMessage(message);
  const root = plans.get(message.typeName)!;
  if (![...plans.values()].some(isAnnotated)) return undefined;
  return new SchemaValuePolicy(root, plans, settings);
}

/** Whether `policy` seals fields at rest (so its namespace has values a re-encrypt job moves). */
export function sealsFields(policy: ValuePolicy | undefined): boolean {
  return policy instanceof SchemaValuePolicy && policy.seals;
}

/**
 * A stored value with its sealed part moved to the namespace's current data key, or undefined
 * when it has none or it is already under that key. Only the sealed part is opened and sealed
 * again (it names its record inside), so it needs neither the schema nor the record id.
 *
 * @example const moved = await resealStored(cipher, "user-profiles", stored)
 */
export async function resealStored(
  cipher: FieldCipher,
  namespace: string,
  value: Uint8Array,
): Promise<Uint8Array | undefined> {
  if (!hasPrefix(value, ENVELOPE_PREFIX)) return undefined;
  const { sealed, rest } = splitEnvelope(value);
  if (cipher.keyIdOf(sealed) === (await cipher.currentKeyId(namespace))) return undefined;
  const resealed = await cipher.seal(namespace, await cipher.open(namespace, sealed));
  return concat(envelopeHead(resealed), rest);
}

class SchemaValuePolicy implements ValuePolicy {
  readonly messageName: string;
  private readonly defaults = new Map<string, Message>();
  readonly seals: boolean;
  private readonly splitsOnWire: boolean;
  private readonly audits: boolean;

  constructor(
    private readonly root: FieldPlan,
    private readonly plans: ReadonlyMap<string, FieldPlan>,
    private readonly settings: ValuePolicySettings,
  ) {
    this.messageName = root.message.typeName;
    this.seals = root.encrypt.length + root.encryptInside.length > 0;
    // Oneof members need the decoded split: on the wire, the sealed part (read last) would win
    // over a sibling the client set after it.
    this.splitsOnWire = ![...plans.values()].some((plan) => plan.encrypt.some((field) => field.oneof));
    // Without a sink (audit off) audit fields cost nothing: no decode just to find them.
    this.audits = settings.audit !== undefined && root.audit.length + root.auditInside.length > 0;
  }

  async toStorage(id: string, value: Uint8Array, call: ValueCall): Promise<Uint8Array> {
    const message = this.decode(value);
    if (message === undefined) {
      throw new PrismError("InvalidArgument", `value is not a ${this.messageName}`, {
        reason: "VALUE_SCHEMA_MISMATCH",
        field: "value",
        metadata: { schema: this.messageName },
      });
    }
    const forged = dropEnvelope(message);
    if (this.audits) await this.auditFields(id, message, "write", call);
    if (!this.seals) return forged ? toBinary(this.root.message, message) : value;
    const { clear, fields } = this.splitsOnWire
      ? splitWire(this.root, value, this.plans)
      : this.splitDecoded(message);
    if (fields.length === 0) return clear;
    const cipher = this.settings.cipher;
    if (!cipher) throw noCipher(this.messageName);
    const inner = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .string(id)
      .tag(2, WireType.LengthDelimited)
      .bytes(fields)
      .finish();
    return concat(envelopeHead(await cipher.seal(call.namespace, inner)), clear);
  }

  async fromStorage(id: string, value: Uint8Array, call: ValueCall): Promise<Uint8Array> {
    const sealed = hasPrefix(value, ENVELOPE_PREFIX);
    if (!sealed && call.piiClear && !this.audits) return value;
    const plain = sealed ? await this.open(id, value, call.namespace) : value;
    const message = this.decode(plain);
    if (message === undefined) return call.piiClear ? plain : new Uint8Array(0);
    if (this.audits) await this.auditFields(id, message, "read", call);
    if (call.piiClear) return plain;
    this.mask(this.root, message);
    dropUnknown(message);
    return toBinary(this.root.message, message);
  }

  private decode(bytes: Uint8Array): Message | undefined {
    try {
      return fromBinary(this.root.message, bytes);
    } catch {
      return undefined;
    }
  }

  /** `clear ++ fields` from a stored envelope, after checking the sealed part belongs to `id`. */
  private async open(id: string, value: Uint8Array, namespace: string): Promise<Uint8Array> {
    const cipher = this.settings.cipher;
    if (!cipher) throw noCipher(this.messageName);
    const { sealed, rest } = splitEnvelope(value);
    const inner = await cipher.open(namespace, sealed);
    let owner: string | undefined;
    let fields: Uint8Array | undefined;
    try {
      const reader = new BinaryReader(inner);
      while (reader.pos < reader.len) {
        const [number] = reader.tag();
        if (number === 1) owner = reader.string();
        else if (number === 2) fields = reader.bytes();
        else throw new Error(`unexpected field ${number}`);
      }
    } catch (error) {
      throw corrupt(error);
    }
    if (owner !== id || fields === undefined) throw corrupt(new Error("sealed part of another record"));
    return concat(rest, fields);
  }

  private splitDecoded(message: Message): { clear: Uint8Array; fields: Uint8Array } {
    const sealed = create(this.root.message);
    this.split(this.root, message, sealed);
    return { clear: toBinary(this.root.message, message), fields: toBinary(this.root.message, sealed) };
  }

  /** Moves every `encrypt` field of `message` (recursively through singular messages) to `sealed`. */
  private split(plan: FieldPlan, message: Message, sealed: Message): void {
    for (const field of plan.encrypt) {
      const current = get(message, field);
      if (current === undefined) continue;
      set(sealed, field, current);
      this.clear(plan, message, field);
    }
    for (const field of plan.encryptInside) {
      const inner = get(message, field) as Message | undefined;
      if (!inner) continue;
      const innerPlan = this.plans.get(innerMessage(field)!.typeName)!;
      const innerSealed = create(innerPlan.message);
      this.split(innerPlan, inner, innerSealed);
      set(sealed, field, innerSealed);
    }
  }

  /** Masks every PII field of `message` in place. */
  private mask(plan: FieldPlan, message: Message): void {
    for (const { field, kind, style } of plan.pii) this.maskField(plan, message, field, kind, style);
    for (const field of plan.piiInside) {
      const innerPlan = this.plans.get(innerMessage(field)!.typeName)!;
      for (const inner of messagesIn(message, field)) this.mask(innerPlan, inner);
    }
  }

  /** Masks one field with `kind`/`style`: strings redacted, messages masked throughout, the rest zeroed. */
  private maskField(
    plan: FieldPlan,
    message: Message,
    field: DescField,
    kind: PiiKind,
    style: MaskStyle,
  ): void {
    const value = get(message, field);
    if (value === undefined) return;
    const redact = (text: string) => redactPii(text, kind, style, this.settings.hashKey);
    switch (field.fieldKind) {
      case "scalar":
        if (typeof value === "string") set(message, field, redact(value));
        else this.clear(plan, message, field);
        return;
      case "list":
        if (field.listKind === "message") {
          for (const inner of value as Message[]) this.maskAll(inner, kind, style);
        } else if (field.listKind === "scalar" && typeof (value as unknown[])[0] === "string") {
          set(message, field, (value as string[]).map(redact));
        } else this.clear(plan, message, field);
        return;
      case "map": {
        const map = value as Record<string, unknown>;
        for (const key of Object.keys(map)) {
          const entry = map[key];
          if (field.mapKind === "message") this.maskAll(entry as Message, kind, style);
          else if (typeof entry === "string") map[key] = redact(entry);
          else delete map[key];
        }
        return;
      }
      case "message":
        this.maskAll(value as Message, kind, style);
        return;
      default:
        this.clear(plan, message, field);
    }
  }

  /** A `pii` message field: every field inside is PII of the outer field's kind. */
  private maskAll(message: Message, kind: PiiKind, style: MaskStyle): void {
    const plan = this.planOf(message);
    for (const field of plan.message.fields) this.maskField(plan, message, field, kind, style);
    dropUnknown(message);
  }

  private planOf(message: Message): FieldPlan {
    const known = this.plans.get(message.$typeName);
    if (known) return known;
    throw new Error(`no plan for ${message.$typeName}`);
  }

  /** Resets a field to its zero value (explicit presence: unset). */
  private clear(plan: FieldPlan, message: Message, field: DescField): void {
    if (field.oneof) {
      (message as unknown as Record<string, unknown>)[field.oneof.localName] = { case: undefined };
      return;
    }
    let defaults = this.defaults.get(plan.message.typeName);
    if (!defaults) {
      defaults = create(plan.message);
      this.defaults.set(plan.message.typeName, defaults);
    }
    const zero = (defaults as unknown as Record<string, unknown>)[field.localName];
    (message as unknown as Record<string, unknown>)[field.localName] = Array.isArray(zero)
      ? []
      : zero !== null && typeof zero === "object" && !(zero instanceof Uint8Array)
        ? {}
        : zero;
  }

  private async auditFields(id: string, message: Message, operation: "read" | "write", call: ValueCall) {
    const fields = [...auditedPaths(this.root, message, this.plans, "")];
    const sink = this.settings.audit;
    if (fields.length === 0 || !sink) return;
    await sink.append({
      principal: principalName(call.principal),
      namespace: call.namespace,
      id,
      fields,
      operation,
    });
  }
}

/** Dotted paths of the `audit` fields set in `message` (elements of repeated fields share a path). */
function* auditedPaths(
  plan: FieldPlan,
  message: Message,
  plans: ReadonlyMap<string, FieldPlan>,
  prefix: string,
): Generator<string> {
  for (const field of plan.audit) if (isSet(message, field)) yield `${prefix}${field.name}`;
  for (const field of plan.auditInside) {
    const innerPlan = plans.get(innerMessage(field)!.typeName)!;
    const seen = new Set<string>();
    for (const inner of messagesIn(message, field)) {
      for (const path of auditedPaths(innerPlan, inner, plans, `${prefix}${field.name}.`)) {
        if (!seen.has(path)) {
          seen.add(path);
          yield path;
        }
      }
    }
  }
}

/** `user:SUBJECT` (or `anonymous`) as audit records name principals. */
export function principalName(principal: Principal): string {
  return principal.subject === "anonymous" ? "anonymous" : `user:${principal.subject}`;
}

function get(message: Message, field: DescField): unknown {
  const record = message as unknown as Record<string, unknown>;
  if (field.oneof) {
    const oneof = record[field.oneof.localName] as { case?: string; value?: unknown };
    return oneof.case === field.localName ? oneof.value : undefined;
  }
  return record[field.localName];
}

function set(message: Message, field: DescField, value: unknown): void {
  const record = message as unknown as Record<string, unknown>;
  if (field.oneof) record[field.oneof.localName] = { case: field.localName, value };
  else record[field.localName] = value;
}

function isSet(message: Message, field: DescField): boolean {
  const value = get(message, field);
  if (value === undefined || value === "" || value === 0 || value === 0n || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Uint8Array) return value.length > 0;
  if (field.fieldKind === "map") return Object.keys(value as object).length > 0;
  return true;
}

/** The messages a message-typed field holds: its value, list elements or map values. */
function messagesIn(message: Message, field: DescField): Message[] {
  const value = get(message, field);
  if (value === undefined) return [];
  if (field.fieldKind === "list") return value as Message[];
  if (field.fieldKind === "map") return Object.values(value as Record<string, Message>);
  return [value as Message];
}

/** Drops an envelope field the client sent (only the gateway seals); true when there was one. */
function dropEnvelope(message: Message): boolean {
  const unknown = message.$unknown;
  if (!unknown?.some((field) => field.no === ENVELOPE_FIELD)) return false;
  const kept = unknown.filter((field) => field.no !== ENVELOPE_FIELD);
  message.$unknown = kept.length > 0 ? kept : undefined;
  return true;
}

function dropUnknown(message: Message): void {
  message.$unknown = undefined;
}

/**
 * Splits an encoded message into its clear part and the part holding its `encrypt` fields,
 * field by field on the wire (no re-encoding: protobuf-es's reflective encoder costs several
 * times the decode). A singular message field holding `encrypt` fields is split the same way
 * inside; a top-level envelope field a client sent is dropped. Either part may be empty.
 */
function splitWire(
  plan: FieldPlan,
  bytes: Uint8Array,
  plans: ReadonlyMap<string, FieldPlan>,
): { clear: Uint8Array; fields: Uint8Array } {
  const clear = new BinaryWriter();
  const fields = new BinaryWriter();
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [number, wireType] = reader.tag();
    const inside = plan.encryptInside.find((field) => field.number === number);
    if (inside && wireType === WireType.LengthDelimited) {
      const part = splitWire(plans.get(innerMessage(inside)!.typeName)!, reader.bytes(), plans);
      clear.tag(number, WireType.LengthDelimited).bytes(part.clear);
      if (part.fields.length > 0) fields.tag(number, WireType.LengthDelimited).bytes(part.fields);
      continue;
    }
    reader.skip(wireType, number);
    // Only the gateway writes the envelope; no schema field may take its number.
    if (number === ENVELOPE_FIELD) continue;
    const raw = bytes.subarray(start, reader.pos);
    if (plan.encrypt.some((field) => field.number === number)) fields.raw(raw);
    else clear.raw(raw);
  }
  return { clear: clear.finish(), fields: fields.finish() };
}

function envelopeHead(sealed: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(ENVELOPE_FIELD, WireType.LengthDelimited).bytes(sealed).finish();
}

/** A stored envelope's sealed part and the clear message after it. */
function splitEnvelope(value: Uint8Array): { sealed: Uint8Array; rest: Uint8Array } {
  try {
    const reader = new BinaryReader(value);
    reader.tag();
    const sealed = reader.bytes();
    return { sealed, rest: value.subarray(reader.pos) };
  } catch (error) {
    throw corrupt(error);
  }
}

function hasPrefix(value: Uint8Array, prefix: Uint8Array): boolean {
  if (value.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (value[i] !== prefix[i]) return false;
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function noCipher(messageName: string): PrismError {
  return new PrismError(
    "FailedPrecondition",
    `${messageName} has encrypt fields and this gateway has no keyring configured`,
    { reason: "SCHEMA_UNAVAILABLE", metadata: { schema: messageName } },
  );
}

function corrupt(cause: unknown): PrismError {
  return new PrismError("Internal", "a stored value's sealed part is malformed", {
    cause,
    reason: "CORRUPT_VALUE",
  });
}
