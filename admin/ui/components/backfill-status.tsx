import type { BackfillView } from "../../src/api-types.js";
import { formatCount, formatDuration, formatRate, formatTime } from "../format.js";

/** A backfill's progress bar and figures: "done / total, N rec/s, ETA mm:ss", phase and state. */
export function BackfillStatus({ backfill }: { backfill: BackfillView }) {
  const running = backfill.state === "running" || backfill.state === "pending";
  // A total of 0 while running means "still counting"; once done it is a real (empty) total.
  const known = backfill.total > 0 || !running;
  return (
    <div class="backfill">
      <progress
        data-testid="backfill-progress"
        aria-label="Backfill progress"
        max={known ? Math.max(backfill.total, 1) : 1}
        // Without a value the bar is indeterminate: the total is still being counted.
        value={
          known
            ? backfill.total > 0
              ? Math.min(backfill.done, backfill.total)
              : Number(backfill.state === "succeeded")
            : undefined
        }
      />
      <p>
        {formatCount(backfill.done)} / {known ? formatCount(backfill.total) : "?"},{" "}
        {formatRate(backfill.ratePerSecond)} rec/s, ETA {running ? formatDuration(backfill.etaSeconds) : "—"}
      </p>
      <dl class="fields compact">
        <dt>State</dt>
        <dd>
          <span data-testid="backfill-state" class={`state state-${backfill.state}`}>
            {backfill.state}
          </span>
        </dd>
        <dt>Phase</dt>
        <dd>{backfill.phase || "—"}</dd>
        <dt>Copied</dt>
        <dd>{formatCount(backfill.bytes)} bytes</dd>
        <dt>Started</dt>
        <dd>{formatTime(backfill.startTime)}</dd>
        {backfill.endTime ? (
          <>
            <dt>Ended</dt>
            <dd>{formatTime(backfill.endTime)}</dd>
          </>
        ) : null}
        <dt>Job</dt>
        <dd>
          <code>{backfill.id}</code>
        </dd>
      </dl>
      {backfill.error ? <p class="notice error">Backfill failed: {backfill.error}</p> : null}
    </div>
  );
}

export function isRunning(backfill: BackfillView | undefined): boolean {
  return backfill?.state === "running" || backfill?.state === "pending";
}
