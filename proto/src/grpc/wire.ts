import { isUtf8 } from "node:buffer";

/**
 * The low-level pieces of the hand-written codecs (ADR-0016): a bounds-checked reader, and
 * size-then-write helpers that fill one preallocated Buffer.
 */

/** A cursor over protobuf bytes: varints, length-delimited fields and skipping, bounds-checked. */
export class Reader {
  at = 0;
  private readonly buffer: Buffer;

  constructor(bytes: Uint8Array) {
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A varint that fits 32 bits unsigned (tags, lengths). */
  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        if (value > 0xffff_ffff) throw new Error("varint32 out of range");
        return value;
      }
    }
    throw new Error("varint32 too long");
  }

  varint64(): bigint {
    let low = 0;
    let shift = 0;
    // Up to 7 bytes (49 bits) add up exactly in a double: epoch seconds (5 bytes) stay on this
    // path and make one BigInt, not one per byte.
    for (; shift < 49; shift += 7) {
      const byte = this.byte();
      low += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return BigInt(low);
    }
    let value = BigInt(low);
    for (; shift < 70; shift += 7) {
      const byte = this.byte();
      value |= BigInt(byte & 0x7f) << BigInt(shift);
      if (byte < 0x80) return BigInt.asUintN(64, value);
    }
    throw new Error("varint64 too long");
  }

  /** A protobuf `int32`: negative values arrive as 10-byte varints, of which the low 32 bits count. */
  int32(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.byte();
      if (shift < 32) value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value | 0;
    }
    throw new Error("varint64 too long");
  }

  length(): number {
    const length = this.varint();
    if (this.at + length > this.buffer.length) throw new Error("premature EOF");
    return length;
  }

  /** UTF-8 text; invalid UTF-8 is an error, as protobuf-es's strict decoding makes it. */
  string(): string {
    const length = this.length();
    const start = this.at;
    this.at += length;
    let ascii = true;
    for (let i = start; i < this.at; i++) {
      if (this.buffer[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return this.buffer.toString("latin1", start, this.at);
    if (!isUtf8(this.buffer.subarray(start, this.at))) throw new Error("invalid UTF-8");
    return this.buffer.toString("utf8", start, this.at);
  }

  /** Shares memory with the input, as protobuf-es's reader does. */
  bytes(): Uint8Array {
    const length = this.length();
    const start = this.at;
    this.at += length;
    return new Uint8Array(this.buffer.buffer, this.buffer.byteOffset + start, length);
  }

  /** A `double` (wire type 1, little-endian). */
  double(): number {
    this.advance(8);
    return this.buffer.readDoubleLE(this.at - 8);
  }

  /** Skips a field this codec does not read: an unknown one, or a known one sent with another wire type. */
  skip(tag: number): void {
    switch (tag & 7) {
      case 0:
        this.varint64();
        return;
      case 1:
        this.advance(8);
        return;
      case 2: {
        const length = this.length(); // before reading `at`: length() moves it past the prefix
        this.at += length;
        return;
      }
      case 5:
        this.advance(4);
        return;
      default:
        throw new Error(`cannot skip wire type ${tag & 7} (field ${tag >>> 3})`);
    }
  }

  private advance(count: number): void {
    if (this.at + count > this.buffer.length) throw new Error("premature EOF");
    this.at += count;
  }

  private byte(): number {
    if (this.at >= this.buffer.length) throw new Error("premature EOF");
    return this.buffer[this.at++]!;
  }
}

/** Bytes of a length prefix plus the `length` bytes it announces. */
export function lengthDelimited(length: number): number {
  return varintSize(length) + length;
}

export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** int64/int32 as protobuf varints: negative values take ten bytes (two's complement). */
export function varint64Size(value: bigint): number {
  let unsigned = BigInt.asUintN(64, value);
  let size = 1;
  while (unsigned >= 0x80n) {
    unsigned >>= 7n;
    size++;
  }
  return size;
}

export function varint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

export function varint64(out: Buffer, at: number, value: bigint): number {
  let unsigned = BigInt.asUintN(64, value);
  if (unsigned < 0x1_0000_0000n) return varint(out, at, Number(unsigned));
  while (unsigned >= 0x80n) {
    out[at++] = Number(unsigned & 0x7fn) | 0x80;
    unsigned >>= 7n;
  }
  out[at++] = Number(unsigned);
  return at;
}

export function string(out: Buffer, at: number, tag: number, text: string): number {
  out[at++] = tag;
  const length = Buffer.byteLength(text);
  at = varint(out, at, length);
  return at + out.write(text, at, length, "utf8");
}
