import type { BackfillRecord } from "./backfill.js";

/** The counting phase's cursor `<phase index>:<cursor>` as its phase index and scan cursor. */
export function splitCount(cursor: string | undefined): [number, string | undefined] {
  if (cursor === undefined) return [0, undefined];
  const colon = cursor.indexOf(":");
  const rest = cursor.slice(colon + 1);
  return [Number(cursor.slice(0, colon)), rest === "" ? undefined : rest];
}

/** The job after one page: counts, rate, and the next phase and cursor. */
export function advance(
  job: BackfillRecord,
  page: { records: number; bytes: number; skipped: number; cursor: string | undefined },
  counting: boolean,
  countPhase: number,
  phases: string[],
  rate: { at: number; records: number; bytes: number },
): BackfillRecord {
  if (counting) {
    const next = {
      ...job,
      recordsTotal: job.recordsTotal + page.records,
      bytesTotal: job.bytesTotal + page.bytes,
    };
    if (page.cursor !== undefined) return { ...next, cursor: `${countPhase}:${page.cursor}` };
    const copyPhases = phases.slice(1);
    if (countPhase + 1 < copyPhases.length) return { ...next, cursor: `${countPhase + 1}:` };
    return { ...next, phase: copyPhases[0]!, cursor: undefined };
  }
  const next = {
    ...job,
    recordsCopied: job.recordsCopied + page.records - page.skipped,
    recordsSkipped: job.recordsSkipped + page.skipped,
    bytesCopied: job.bytesCopied + page.bytes,
  };
  const now = Date.now();
  if (now - rate.at >= 1000) {
    const seconds = (now - rate.at) / 1000;
    next.recordsPerSecond = (next.recordsCopied + next.recordsSkipped - rate.records) / seconds;
    next.bytesPerSecond = (next.bytesCopied - rate.bytes) / seconds;
    Object.assign(rate, {
      at: now,
      records: next.recordsCopied + next.recordsSkipped,
      bytes: next.bytesCopied,
    });
  }
  if (page.cursor !== undefined) return { ...next, cursor: page.cursor };
  const following = phases[phases.indexOf(job.phase) + 1];
  if (following) return { ...next, phase: following, cursor: undefined };
  return { ...next, state: "succeeded", cursor: undefined };
}
