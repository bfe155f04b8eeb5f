import { type Backend, PrismError, type TsNamespaceSettings } from "@prism/core";
import { diffEvents, diffItems, diffNodes, digestOf, edgeDigest, eventDigest, nodeDigest } from "./diff.js";
import { Throttle } from "./throttle.js";

/** Progress of a verification, streamed as it goes and kept when done. */
export interface VerifyProgress {
  phase: "primary" | "shadow" | "recheck" | "done";
  examined: number;
  missing: number;
  differing: number;
  extra: number;
  samples: { id: string; summary: string }[];
  done: boolean;
}

export interface VerifyTarget {
  namespace: string;
  pattern: string;
  primary: Backend;
  shadow: Backend;
  settings: TsNamespaceSettings | undefined;
  recordsPerSecond: number;
  signal: AbortSignal;
}

/** Records one pass holds in memory (a digest each); larger namespaces are refused. */
const MAX_RECORDS = 2_000_000;
const SAMPLES = 10;
/** Differences are read again after this long: a dual-write may have been in flight. */
const SETTLE_MS = 500;
const MAX_RECHECKS = 10_000;

/**
 * Compares a namespace's primary and shadow over all of it: a digest per record from the
 * primary's scan, then the shadow's scan checked against them — missing (only in the primary),
 * differing, extra (only in the shadow). Writes continue meanwhile, so every difference is read
 * again from both sides after a short settle and counted only if it persists. Calls `report` as
 * it goes; resolves with the final counts.
 *
 * @example const result = await verifyShadow(target, (progress) => stream.write(progress))
 */
export async function verifyShadow(
  target: VerifyTarget,
  report: (progress: VerifyProgress) => void | Promise<void>,
): Promise<VerifyProgress> {
  const progress: VerifyProgress = {
    phase: "primary",
    examined: 0,
    missing: 0,
    differing: 0,
    extra: 0,
    samples: [],
    done: false,
  };
  const throttle = new Throttle(target.recordsPerSecond, Number.MAX_SAFE_INTEGER);
  const primary = new Map<string, string>();
  for await (const page of digests(target, target.primary)) {
    for (const [key, digest] of page) add(primary, key, digest);
    progress.examined += page.length;
    if (primary.size > MAX_RECORDS) {
      throw new PrismError(
        "FailedPrecondition",
        `namespace holds over ${MAX_RECORDS} records: too large to verify in one pass`,
      );
    }
    await throttle.take(page.length, 0, target.signal);
    await report(progress);
  }
  progress.phase = "shadow";
  const shadow = new Map<string, string>();
  for await (const page of digests(target, target.shadow)) {
    for (const [key, digest] of page) add(shadow, key, digest);
    await throttle.take(page.length, 0, target.signal);
    await report(progress);
  }
  const candidates: string[] = [];
  for (const [key, digest] of primary) if (shadow.get(key) !== digest) candidates.push(key);
  for (const key of shadow.keys()) if (!primary.has(key)) candidates.push(key);
  progress.phase = "recheck";
  await report(progress);
  if (candidates.length > 0) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  for (const [i, key] of candidates.entries()) {
    const outcome = i < MAX_RECHECKS ? await recheck(target, key) : unchecked(key, primary, shadow);
    if (!outcome) continue;
    progress[outcome.kind]++;
    if (progress.samples.length < SAMPLES)
      progress.samples.push({ id: displayId(key), summary: outcome.summary });
  }
  progress.phase = "done";
  progress.done = true;
  await report(progress);
  return progress;
}

/** A KeyValue record's digest is its items' in order; anything else is one record per key (a repeat is the same record). */
function add(digests: Map<string, string>, key: string, digest: string): void {
  digests.set(key, key.startsWith('["kv"') ? (digests.get(key) ?? "") + digest : digest);
}

type Outcome = { kind: "missing" | "differing" | "extra"; summary: string } | undefined;

/** A difference past the recheck budget, counted as the scans saw it. */
function unchecked(key: string, primary: Map<string, string>, shadow: Map<string, string>): Outcome {
  if (!shadow.has(key)) return { kind: "missing", summary: "only in the primary (not rechecked)" };
  if (!primary.has(key)) return { kind: "extra", summary: "only in the shadow (not rechecked)" };
  return { kind: "differing", summary: "content differs (not rechecked)" };
}

/** Reads one record from both sides now: whether (and how) they still differ. */
async function recheck(target: VerifyTarget, key: string): Promise<Outcome> {
  const { namespace, primary, shadow, signal } = target;
  const [kind, ...rest] = JSON.parse(key) as [string, ...string[]];
  const classify = (inPrimary: boolean, inShadow: boolean, summary: string | undefined): Outcome => {
    if (inPrimary && !inShadow) return { kind: "missing", summary: "only in the primary" };
    if (!inPrimary && inShadow) return { kind: "extra", summary: "only in the shadow" };
    return summary === undefined ? undefined : { kind: "differing", summary };
  };
  if (kind === "kv") {
    const read = (backend: Backend) =>
      backend.keyvalue!.get(
        namespace,
        rest[0]!,
        { kind: "all" },
        {
          limitItems: 100_000,
          limitBytes: Number.MAX_SAFE_INTEGER,
          signal,
        },
      );
    const [p, s] = await Promise.all([read(primary), read(shadow)]);
    return classify(p.items.length > 0, s.items.length > 0, diffItems(p.items, s.items));
  }
  if (kind === "ts") {
    const [seriesId, time, eventId] = rest as [string, string, string];
    const read = (backend: Backend) =>
      backend.timeseries!.read(namespace, seriesId, {
        settings: target.settings!,
        signal,
        startUs: BigInt(time),
        endUs: BigInt(time) + 1n,
        descending: false,
        tagFilter: {},
        limitEvents: 10_000,
        limitBytes: Number.MAX_SAFE_INTEGER,
      });
    const [p, s] = await Promise.all([read(primary), read(shadow)]);
    const only = (events: typeof p.events) => events.filter((event) => event.eventId === eventId);
    const [pe, se] = [only(p.events), only(s.events)];
    return classify(pe.length > 0, se.length > 0, diffEvents(pe, se));
  }
  if (kind === "node") {
    const read = (backend: Backend) => backend.graph!.getNodes(namespace, [rest[0]!], { signal });
    const [p, s] = await Promise.all([read(primary), read(shadow)]);
    return classify(p.length > 0, s.length > 0, diffNodes(p, s));
  }
  const [fromId, toId, label] = rest as [string, string, string];
  const read = (backend: Backend) =>
    backend.graph!.getEdges(namespace, [{ fromId, toId, label }], { signal });
  const [p, s] = await Promise.all([read(primary), read(shadow)]);
  const differs =
    p[0] && s[0] && edgeDigest(p[0]) !== edgeDigest(s[0]) ? "edge properties differ" : undefined;
  return classify(p.length > 0, s.length > 0, differs);
}

/** The id an operator sees for a record key: the record id, series/event, node or edge. */
function displayId(key: string): string {
  const [kind, ...rest] = JSON.parse(key) as [string, ...string[]];
  if (kind === "ts") return `${rest[0]}@${rest[1]}/${rest[2]}`;
  if (kind === "edge") return `${rest[0]}-[${rest[2]}]->${rest[1]}`;
  return rest[0]!;
}

/** Pages of (record key, digest) from one side's scan, in the backend's scan order. */
async function* digests(target: VerifyTarget, backend: Backend): AsyncGenerator<[string, string][]> {
  const { namespace, signal } = target;
  if (target.pattern === "keyvalue") {
    let after: { id: string; key: Uint8Array } | undefined;
    for (;;) {
      const page = await backend.keyvalue!.scan(namespace, {
        limitItems: 1000,
        limitBytes: 8 << 20,
        signal,
        ...(after && { after }),
      });
      yield page.rows.map(({ id, item }) => [
        JSON.stringify(["kv", id]),
        digestOf([item.key, item.value, String(item.expiresAt ?? 0)]),
      ]);
      const last = page.rows.at(-1);
      if (!page.more || !last) return;
      after = { id: last.id, key: last.item.key };
    }
  }
  if (target.pattern === "timeseries") {
    let cursor: string | undefined;
    do {
      const page = await backend.timeseries!.scan(namespace, {
        settings: target.settings!,
        signal,
        limitEvents: 1000,
        limitBytes: 8 << 20,
        ...(cursor !== undefined && { cursor }),
      });
      // A log may hold an event twice: the same digest twice is one event.
      const seen = new Map<string, string>();
      for (const { seriesId, event } of page.events) {
        seen.set(
          JSON.stringify(["ts", seriesId, String(event.eventTimeUs), event.eventId]),
          eventDigest(event),
        );
      }
      yield [...seen];
      cursor = page.cursor;
    } while (cursor !== undefined);
    return;
  }
  let cursor: string | undefined;
  do {
    const page = await backend.graph!.scanNodes(namespace, {
      limit: 1000,
      signal,
      ...(cursor !== undefined && { cursor }),
    });
    yield page.nodes.map((node) => [JSON.stringify(["node", node.id]), nodeDigest(node)]);
    cursor = page.cursor;
  } while (cursor !== undefined);
  do {
    const page = await backend.graph!.scanEdges(namespace, {
      limit: 1000,
      signal,
      ...(cursor !== undefined && { cursor }),
    });
    yield page.edges.map((edge) => [
      JSON.stringify(["edge", edge.fromId, edge.toId, edge.label]),
      edgeDigest(edge),
    ]);
    cursor = page.cursor;
  } while (cursor !== undefined);
}
