import type { ConfigStore } from "../config/config-store.js";
import type { ShadowConfigSettings } from "../config/gateway-config.js";
import type { NamespaceSpec } from "../config/namespace-spec.js";
import type { ResolvedNamespace } from "../registry/resolved-namespace.js";
import type { BackfillRunner } from "./backfill.js";
import { type PublishedShadowStats, STATS_KIND } from "./shadow-runtime.js";
import { zeroCounters } from "./shadow-state.js";
import type { VerifyProgress } from "./verify.js";

/** The config-store state kind holding each namespace's last verification. */
export const VERIFY_KIND = "shadow-verify";

/** Published counters older than this belong to a gateway that stopped; they are left out. */
const STALE_MS = 60_000;

type Totals = PublishedShadowStats["counters"];

/**
 * Every gateway's published counters for `spec`'s current primary/shadow pair, and their sums.
 *
 * @example const { totals } = await shadowTotals(store, namespace.spec)
 */
export async function shadowTotals(
  store: ConfigStore,
  spec: NamespaceSpec,
): Promise<{ totals: Totals; gateways: PublishedShadowStats[] }> {
  const now = Date.now();
  const gateways = (await store.listState(STATS_KIND, `${spec.name}/`))
    .map((stored) => stored.value as PublishedShadowStats)
    .filter(
      (stats) =>
        stats.primary === spec.backend && stats.shadow === spec.shadow?.backend && now - stats.at < STALE_MS,
    );
  const totals: Totals = { ...zeroCounters(), queueDepth: 0 };
  for (const { counters } of gateways) {
    for (const name of Object.keys(totals) as (keyof Totals)[]) {
      totals[name] =
        name === "lastProblemAt" || name === "lastMismatchAt"
          ? Math.max(totals[name], counters[name])
          : totals[name] + counters[name];
    }
  }
  return { totals, gateways };
}

/**
 * Why swapping primary and shadow is unsafe now, one line per failed check (empty = safe):
 * - a backfill between the two backends (either way: after a promotion the old primary holds
 *   everything) must have succeeded, and none may be running;
 * - no gateway dropped or failed a mirrored write since that backfill began;
 * - a verification run since then found no differences;
 * - if any compared read mismatched since the backfill finished, at most
 *   `promoteMaxMismatchRatio` of compared reads did (mismatches while it ran are expected).
 */
export async function promotionProblems(
  store: ConfigStore,
  backfills: BackfillRunner,
  namespace: ResolvedNamespace,
  settings: ShadowConfigSettings,
): Promise<string[]> {
  const { spec } = namespace;
  const pair = new Set([spec.backend, spec.shadow!.backend]);
  const jobs = (await backfills.jobsOf(spec.name)).filter(
    (job) => pair.has(job.primary) && pair.has(job.shadow),
  );
  const problems: string[] = [];
  const running = jobs.find((job) => job.state === "running");
  if (running) problems.push(`backfill ${running.id} is still running`);
  const done = jobs.filter((job) => job.state === "succeeded").at(-1);
  if (!done) problems.push(`no backfill between ${spec.backend} and ${spec.shadow!.backend} has succeeded`);
  const { totals } = await shadowTotals(store, spec);
  if (done && totals.lastProblemAt >= done.startedAt) {
    problems.push(
      `mirrored writes were dropped (${totals.writesDropped}) or failed (${totals.writesFailed}) since the backfill began; backfill again`,
    );
  }
  const verified = await store.getState(VERIFY_KIND, spec.name);
  const result = verified?.value as VerifyProgress | undefined;
  if (result && done && verified!.updatedAt >= done.startedAt) {
    const differences = result.missing + result.differing + result.extra;
    if (differences > 0) problems.push(`the last verification found ${differences} differences`);
  }
  const compared = totals.readsMatched + totals.readsMismatched;
  const recent = done !== undefined && totals.lastMismatchAt >= done.updatedAt;
  if (recent && compared > 0 && totals.readsMismatched / compared > settings.promoteMaxMismatchRatio) {
    problems.push(
      `${totals.readsMismatched} of ${compared} compared reads mismatched, some since the backfill finished`,
    );
  }
  return problems;
}
