import { setTimeout as sleep } from "node:timers/promises";
import { untilInterrupted } from "./cli.js";

/** How a job is followed: asked for again every `pollMs` while it runs, its line redrawn. */
export interface Following<J> {
  /** The job as the gateway has it now. */
  next(signal: AbortSignal): Promise<J>;
  running(job: J): boolean;
  /** The live line of a running job. */
  line(job: J): string;
  /** Where the line goes (a terminal, or nothing): see `liveLine`. */
  live: { show(text: string): void; clear(): void };
  pollMs?: number;
}

/** How often a followed job is asked for progress. */
export const POLL_MS = 500;

/**
 * Follows a long-running job (backfill, re-encrypt) with a live line until it ends, or until
 * Ctrl-C, which stops the following only: the job runs on in the gateway.
 *
 * @example const { job, interrupted } = await follow(started, { next, running, line, live })
 */
export async function follow<J>(first: J, how: Following<J>): Promise<{ job: J; interrupted: boolean }> {
  let job = first;
  const interrupted = await untilInterrupted(async (signal) => {
    while (how.running(job)) {
      how.live.show(how.line(job));
      await sleep(how.pollMs ?? POLL_MS, undefined, { signal });
      job = await how.next(signal);
    }
  });
  how.live.clear();
  return { job, interrupted };
}
