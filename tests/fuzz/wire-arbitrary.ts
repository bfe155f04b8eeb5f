import fc from "fast-check";

/**
 * Malformed protobuf bytes: a well-formed message truncated or with bytes flipped or inserted,
 * pure random bytes, and hand-made wire-format traps (invalid varints, wrong wire types, deep
 * nesting, unknown and huge-numbered fields, lengths past the end).
 */

/** The encoding of `value` as a protobuf varint (`value` ≥ 0). */
export function varint(value: bigint): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest > 0n) byte |= 0x80;
    out.push(byte);
  } while (rest > 0n);
  return out;
}

const tag = (field: number, wireType: number) => varint((BigInt(field) << 3n) | BigInt(wireType));

/** Cuts, flips, overwrites or inserts bytes of an encoded message. */
export function mutated(message: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      message,
      fc.constantFrom("truncate", "flip", "insert", "overwrite"),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
    )
    .map(([bytes, how, edits]) => {
      if (bytes.length === 0) return Uint8Array.of(...edits.map(([, value]) => value));
      if (how === "truncate") return bytes.subarray(0, edits[0]![0] % bytes.length);
      let out = Uint8Array.from(bytes);
      for (const [at, value] of edits) {
        const i = at % out.length;
        if (how === "flip") out[i]! ^= 1 << (value % 8);
        else if (how === "overwrite") out[i] = value;
        else {
          const grown = new Uint8Array(out.length + 1);
          grown.set(out.subarray(0, i));
          grown[i] = value;
          grown.set(out.subarray(i), i + 1);
          out = grown;
        }
      }
      return out;
    });
}

/** A field of any wire type, possibly wrong for the schema's field of that number. */
const anyField = fc
  .tuple(
    fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(0, 536_870_911, 19_000, 1000)),
    fc.integer({ min: 0, max: 7 }),
    fc.uint8Array({ maxLength: 24 }),
  )
  .map(([field, wireType, body]) => {
    switch (wireType) {
      case 0:
        return [...tag(field, 0), ...varint(BigInt(body.length) * 7919n)];
      case 1:
        return [...tag(field, 1), ...Array.from(body.subarray(0, 8))];
      case 2:
        return [...tag(field, 2), ...varint(BigInt(body.length)), ...body];
      case 5:
        return [...tag(field, 5), ...Array.from(body.subarray(0, 4))];
      default:
        // 3/4 = group start/end (unpaired), 6/7 = no such wire type.
        return [...tag(field, wireType), ...Array.from(body)];
    }
  });

/** Nested length-delimited fields `depth` deep (decoders that recurse without bound fall over). */
const deepNesting = fc
  .tuple(fc.integer({ min: 10, max: 2000 }), fc.integer({ min: 1, max: 6 }))
  .map(([depth, field]) => {
    let inner: number[] = [];
    for (let i = 0; i < depth; i++) inner = [...tag(field, 2), ...varint(BigInt(inner.length)), ...inner];
    return inner;
  });

/** Unpaired or deeply nested groups (wire types 3 and 4). */
const groups = fc
  .tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 8 }), fc.boolean())
  .map(([depth, field, closed]) => {
    const open = Array.from({ length: depth }, () => tag(field, 3)).flat();
    return closed ? [...open, ...Array.from({ length: depth }, () => tag(field, 4)).flat()] : open;
  });

const trap = fc.oneof(
  // Varint with more than 10 bytes, or cut short.
  fc.integer({ min: 1, max: 20 }).map((n) => [0x08, ...Array.from({ length: n }, () => 0xff)]),
  // A length far past the end of the message.
  fc.bigInt({ min: 1n, max: 2n ** 63n }).map((length) => [0x0a, ...varint(length), 0x41]),
  // Tag zero, or a field number past the maximum.
  fc.constantFrom([0x00], [0x00, 0x01], [...varint(2n ** 32n)], [0xff, 0xff, 0xff, 0xff, 0x7f]),
  deepNesting,
  groups,
);

/** Random bytes and wire-format traps, concatenated. */
export const garbage: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 << 10 }) },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.oneof(anyField, trap), { maxLength: 6 })
      .map((parts) => Uint8Array.from(parts.flat())),
  },
);
