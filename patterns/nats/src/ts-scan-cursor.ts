import { decodeScanCursor, encodeScanCursor, scanCursorInteger } from "@prism/core";

/** Where a namespace scan stands (`ts-scan.ts`). */
export interface StreamScanState {
  /** The next stream sequence to read. */
  nextSeq: number;
  /** The stream's last sequence when the scan started: the scan ends there. */
  lastSeq: number;
}

const KIND = "nats-scan-1";
const MAX_SEQUENCE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A cursor holding `[next sequence, last sequence]` (`@prism/core` `encodeScanCursor`).
 *
 * @example encodeStreamCursor("demo-ts", { nextSeq: 41, lastSeq: 90 })
 */
export function encodeStreamCursor(namespace: string, state: StreamScanState): string {
  return encodeScanCursor(KIND, namespace, [String(state.nextSeq), String(state.lastSeq)]);
}

/** The state a cursor of {@link encodeStreamCursor} holds; INVALID_PAGE_TOKEN for anything else. */
export function decodeStreamCursor(namespace: string, cursor: string): StreamScanState {
  const [nextSeq, lastSeq] = decodeScanCursor(KIND, namespace, cursor, 2) as [string, string];
  const last = scanCursorInteger(lastSeq, 1n, MAX_SEQUENCE);
  return { nextSeq: Number(scanCursorInteger(nextSeq, 1n, last)), lastSeq: Number(last) };
}
