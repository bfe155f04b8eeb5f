const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export const b = (text: string): Uint8Array => encoder.encode(text);

/** Bytes as a string, for readable assertions. */
export const s = (bytes: Uint8Array): string => Buffer.from(bytes).toString();
