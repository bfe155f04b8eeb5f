import { create, type DescField, type DescMessage, ScalarType, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";

/**
 * Well-formed messages of any generated schema, walked from its descriptor (so a new RPC's
 * request is fuzzed with no code here): every field maybe set, strings from pools that hit the
 * gateway's real namespaces and ids or are unicode/control/huge, integers at their limits,
 * timestamps near now or at the extremes, maps and repeated fields, one oneof case.
 */
export interface MessagePools {
  /** Values for fields named like a namespace (existing ones, mostly). */
  namespaces: readonly string[];
  /** Values for id-like fields, shared so writes and reads meet. */
  ids: readonly string[];
  /** Values for fields named like a label, backend, pattern or service. */
  names: readonly string[];
}

/** Nested messages deeper than this are left unset (Value → map → Value would recurse). */
const MAX_DEPTH = 4;

const NOW_S = BigInt(Math.floor(Date.now() / 1000));

/** Text that breaks naive handling: controls, NUL, lone surrogates' replacements, RTL, emoji. */
const nastyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom("\u0000", "\u0001", "\n", "\u200f", "\ufffd", "😀", "/", "*", "%"),
    maxLength: 20,
  }),
  fc.constantFrom("", " ", "..", "\u0001chunk", "a".repeat(4096), "-".repeat(300), "{{x}}", "' OR 1=1 --"),
);

/** Sometimes very large: 64 KiB to 512 KiB of one character. */
const hugeText = fc.integer({ min: 64 << 10, max: 512 << 10 }).map((n) => "x".repeat(n));

function stringArb(field: DescField, pools: MessagePools, big: boolean): fc.Arbitrary<string> {
  const name = field.name.toLowerCase();
  const random = big
    ? fc.oneof({ weight: 8, arbitrary: nastyText }, { weight: 1, arbitrary: hugeText })
    : nastyText;
  let pool: readonly string[] = [];
  if (name.includes("namespace")) pool = pools.namespaces;
  else if (name === "id" || name.endsWith("_id") || name.endsWith("_ids") || name === "ids") pool = pools.ids;
  else if (/label|backend|service|name|symbol|host|schema|principal|subject/.test(name)) pool = pools.names;
  if (pool.length === 0) return random;
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: random });
}

const int32 = fc.oneof(
  fc.integer({ min: -3, max: 100 }),
  fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, -1, 0, 1),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);
const uint32 = fc.oneof(
  fc.integer({ min: 0, max: 100 }),
  fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 31),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
);
const int64 = fc.oneof(
  fc.bigInt({ min: -3n, max: 1000n }),
  fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);
const uint64 = fc.oneof(
  fc.bigInt({ min: 0n, max: 1000n }),
  fc.constantFrom(0n, 2n ** 64n - 1n, 2n ** 63n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const double = fc.oneof(
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, 1e308),
);

function scalarArb(
  field: DescField & { scalar: ScalarType },
  pools: MessagePools,
  big: boolean,
): fc.Arbitrary<unknown> {
  switch (field.scalar) {
    case ScalarType.STRING:
      return stringArb(field, pools, big);
    case ScalarType.BYTES:
      return fc.oneof(
        { weight: 6, arbitrary: fc.uint8Array({ maxLength: 64 }) },
        {
          weight: 2,
          arbitrary: stringArb(field, pools, false).map((text) => new TextEncoder().encode(text)),
        },
        ...(big
          ? [
              {
                weight: 1,
                arbitrary: fc.integer({ min: 64 << 10, max: 1200 << 10 }).map((n) => new Uint8Array(n)),
              },
            ]
          : []),
      );
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return double;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return int32;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return uint32;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return uint64;
    default:
      return int64;
  }
}

/** google.protobuf.Timestamp and Duration: mostly near now, sometimes at or past the limits. */
function timeArb(desc: DescMessage): fc.Arbitrary<Record<string, unknown>> {
  const seconds =
    desc.typeName === "google.protobuf.Timestamp"
      ? fc.oneof(
          { weight: 6, arbitrary: fc.bigInt({ min: NOW_S - 86_400n * 40n, max: NOW_S + 3600n }) },
          { weight: 2, arbitrary: fc.constantFrom(0n, -62_135_596_800n, 253_402_300_799n, -1n) },
          { weight: 1, arbitrary: int64 },
        )
      : fc.oneof(fc.bigInt({ min: -10n, max: 10n ** 6n }), int64);
  const nanos = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999_999 }), int32);
  return fc.record({ seconds, nanos }, { requiredKeys: [] });
}

/**
 * `big`: huge strings and bytes and long lists may appear (only outside lists and maps, so one
 * message stays within a few MiB).
 */
function messageInit(
  desc: DescMessage,
  pools: MessagePools,
  depth: number,
  big: boolean,
): fc.Arbitrary<Record<string, unknown>> {
  if (desc.typeName === "google.protobuf.Timestamp" || desc.typeName === "google.protobuf.Duration") {
    return timeArb(desc);
  }
  if (depth >= MAX_DEPTH) return fc.constant({});
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of desc.fields) {
    if (field.oneof) continue;
    parts[field.localName] = fieldArb(field, pools, depth, big);
  }
  for (const oneof of desc.oneofs) {
    parts[oneof.localName] = fc.oneof(
      ...oneof.fields.map((field) =>
        fieldArb(field, pools, depth, big).map((value) => ({ case: field.localName, value })),
      ),
    );
  }
  return fc.record(parts, { requiredKeys: [] });
}

function fieldArb(field: DescField, pools: MessagePools, depth: number, big: boolean): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "scalar":
      return scalarArb(field, pools, big);
    case "enum":
      return fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.number)), int32);
    case "message":
      return messageInit(field.message, pools, depth + 1, big);
    case "list": {
      const element =
        field.listKind === "message"
          ? messageInit(field.message, pools, depth + 1, false)
          : field.listKind === "enum"
            ? fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.number)), int32)
            : scalarArb(field as unknown as DescField & { scalar: ScalarType }, pools, false);
      if (!big) return fc.array(element, { maxLength: 4 });
      return fc.oneof(
        { weight: 6, arbitrary: fc.array(element, { maxLength: 6 }) },
        { weight: 1, arbitrary: fc.array(element, { minLength: 100, maxLength: 600 }) },
      );
    }
    case "map": {
      const key = fc.oneof(nastyText, fc.constantFrom("k", "host", "region"));
      const value =
        field.mapKind === "message"
          ? messageInit(field.message, pools, depth + 1, false)
          : field.mapKind === "enum"
            ? fc.constant(0)
            : scalarArb(field as unknown as DescField & { scalar: ScalarType }, pools, false);
      const entries = big
        ? fc.oneof(
            { weight: 6, arbitrary: fc.array(fc.tuple(key, value), { maxLength: 5 }) },
            { weight: 1, arbitrary: fc.array(fc.tuple(key, value), { minLength: 100, maxLength: 400 }) },
          )
        : fc.array(fc.tuple(key, value), { maxLength: 3 });
      // Map keys of other types than string are never generated by our protos; string keys suffice.
      return entries.map((pairs) => Object.fromEntries(pairs));
    }
  }
}

/** Encoded well-formed requests of `desc` (values the encoder cannot take are dropped to defaults). */
export function wellFormed(desc: DescMessage, pools: MessagePools): fc.Arbitrary<Uint8Array> {
  return messageInit(desc, pools, 0, true).map((init) => {
    try {
      return toBinary(desc, create(desc, init as never));
    } catch {
      // e.g. a map with a non-string key type; the field-less message still exercises the method.
      return toBinary(desc, create(desc));
    }
  });
}
