import {
  decodeScanCursor as decodeCursorFields,
  encodeScanCursor as encodeCursorFields,
  invalidScanCursor,
  scanCursorInteger,
} from "@prism/core";

/**
 * Where a namespace scan stands (`namespace-scan.ts`): the topic's partitions are read one after
 * another, each from its retention window's start to its end offset.
 */
export interface ScanState {
  /** The topic's partition count when the scan started: later partitions hold nothing older. */
  partitions: number;
  /** The partition being read. */
  partition: number;
  /** The next offset to read in it; undefined = not started (it starts at the retention window). */
  next: bigint | undefined;
  /**
   * End offsets (exclusive) of `partition`, `partition + 1`, …: high watermarks recorded when the
   * scan first needed them. Partitions past this list get theirs when the scan reaches them.
   */
  ends: bigint[];
}

/** At most this many ends travel in a cursor: 100 × 20 digits keeps it well below 4 KiB. */
export const MAX_RECORDED_ENDS = 100;

const KIND = "kafka-scan-1";
const MAX_PARTITIONS = 1_000_000n;
const MAX_OFFSET = (1n << 63n) - 1n;

/**
 * A cursor holding `[partitions, partition, next or "", "end,end,…"]` (`@prism/core`
 * `encodeScanCursor`).
 *
 * @example encodeScanCursor("demo-ts", { partitions: 3, partition: 1, next: 40n, ends: [90n, 12n] })
 */
export function encodeScanCursor(namespace: string, state: ScanState): string {
  return encodeCursorFields(KIND, namespace, [
    String(state.partitions),
    String(state.partition),
    state.next === undefined ? "" : String(state.next),
    state.ends.slice(0, MAX_RECORDED_ENDS).join(","),
  ]);
}

/** The state a cursor of {@link encodeScanCursor} holds; INVALID_PAGE_TOKEN for anything else. */
export function decodeScanCursor(namespace: string, cursor: string): ScanState {
  const [partitions, partition, next, ends] = decodeCursorFields(KIND, namespace, cursor, 4) as [
    string,
    string,
    string,
    string,
  ];
  const count = Number(scanCursorInteger(partitions, 1n, MAX_PARTITIONS));
  const at = Number(scanCursorInteger(partition, 0n, BigInt(count - 1)));
  const endList = ends === "" ? [] : ends.split(",");
  if (endList.length > count - at) throw invalidScanCursor();
  return {
    partitions: count,
    partition: at,
    next: next === "" ? undefined : scanCursorInteger(next, 0n, MAX_OFFSET),
    ends: endList.map((end) => scanCursorInteger(end, 0n, MAX_OFFSET)),
  };
}
