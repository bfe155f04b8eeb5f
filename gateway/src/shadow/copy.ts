import type {
  Backend,
  GraphBackend,
  KeyValueBackend,
  KvItem,
  ScanPosition,
  TimeSeriesBackend,
  TsEvent,
  TsNamespaceSettings,
} from "@prism/core";
import { PrismError } from "@prism/core";
import { diffItems, edgeDigest, edgeKey, nodeDigest } from "./diff.js";
import { copyEndpoints } from "./shadow-graph.js";

/** One page of a copy (or count): what was read, what it moved, and where the next page starts. */
export interface CopiedPage {
  records: number;
  bytes: number;
  /** TimeSeries events the shadow cannot index (older than its accept window allows). */
  skipped: number;
  /** Undefined when this phase is complete. */
  cursor: string | undefined;
}

export interface CopyContext {
  namespace: string;
  primary: Backend;
  shadow: Backend;
  settings: TsNamespaceSettings | undefined;
  signal: AbortSignal;
  /** Most records a page reads. */
  limit: number;
  /** False: only count (the sizing pass before copying). */
  write: boolean;
}

/** Records (or series) of one page copied at once: each is a round trip or two to each backend. */
const PARALLEL = 16;

/** How many times a record is copied again when the primary changed during its copy. */
const RECHECKS = 3;
const PAGE_BYTES = 4 << 20;

/**
 * One page of a backfill phase. KeyValue and Graph copy-then-recheck (ADR-0021): after writing a
 * page to the shadow, the same records are read again from the primary and anything that changed
 * meanwhile (a write that raced the copy, possibly dual-written from another gateway before this
 * copy landed) is copied again, so a backfilled old value never stays over a newer one.
 * TimeSeries events are immutable: a copy is final.
 */
export function copyPage(
  pattern: string,
  phase: string,
  context: CopyContext,
  cursor: string | undefined,
): Promise<CopiedPage> {
  const { primary, shadow } = context;
  if (pattern === "keyvalue") return copyKeyValue(primary.keyvalue!, shadow.keyvalue!, context, cursor);
  if (pattern === "timeseries")
    return copyTimeSeries(primary.timeseries!, shadow.timeseries!, context, cursor);
  if (phase === "copying nodes") return copyNodes(primary.graph!, shadow.graph!, context, cursor);
  if (phase === "copying edges") return copyEdges(primary.graph!, shadow.graph!, context, cursor);
  throw new PrismError("Internal", `unknown backfill phase ${phase}`);
}

/** The copy phases of a pattern's backfill, in order (each sized first, in \`counting\`). */
export function phasesOf(pattern: string): string[] {
  return pattern === "graph" ? ["copying nodes", "copying edges"] : ["copying"];
}

async function copyKeyValue(
  primary: KeyValueBackend,
  shadow: KeyValueBackend,
  { namespace, signal, limit, write }: CopyContext,
  cursor: string | undefined,
): Promise<CopiedPage> {
  const after = cursor === undefined ? undefined : decodePosition(cursor);
  const page = await primary.scan(namespace, {
    limitItems: limit,
    limitBytes: PAGE_BYTES,
    signal,
    ...(after && { after }),
  });
  let bytes = 0;
  const records = new Map<string, KvItem[]>();
  for (const { id, item } of page.rows) {
    bytes += item.key.length + item.value.length;
    const items = records.get(id);
    if (items) items.push(item);
    else records.set(id, [item]);
  }
  if (write) {
    await eachBounded([...records], ([id, items]) =>
      copyRecord(primary, shadow, namespace, id, items, signal),
    );
  }
  const last = page.rows.at(-1);
  return {
    records: page.rows.length,
    bytes,
    skipped: 0,
    cursor: page.more && last ? encodePosition({ id: last.id, key: last.item.key }) : undefined,
  };
}

/** Copies a record's items, then re-reads them from the primary until the shadow agrees. */
async function copyRecord(
  primary: KeyValueBackend,
  shadow: KeyValueBackend,
  namespace: string,
  id: string,
  items: KvItem[],
  signal: AbortSignal,
): Promise<void> {
  let copied = items;
  for (let attempt = 0; attempt <= RECHECKS; attempt++) {
    await shadow.put(namespace, id, copied, { signal });
    const keys = copied.map((item) => item.key);
    const now = await primary.get(
      namespace,
      id,
      { kind: "keys", keys },
      { limitItems: keys.length, limitBytes: Number.MAX_SAFE_INTEGER, signal },
    );
    if (diffItems(copied, now.items) === undefined) return;
    // Keys gone from the primary meanwhile go from the shadow too; changed ones are copied again.
    const present = new Set(now.items.map((item) => Buffer.from(item.key).toString("base64")));
    const gone = keys.filter((key) => !present.has(Buffer.from(key).toString("base64")));
    if (gone.length > 0) await shadow.delete(namespace, id, { kind: "keys", keys: gone }, { signal });
    if (now.items.length === 0) return;
    copied = now.items;
  }
}

async function copyTimeSeries(
  primary: TimeSeriesBackend,
  shadow: TimeSeriesBackend,
  { namespace, signal, limit, write, settings }: CopyContext,
  cursor: string | undefined,
): Promise<CopiedPage> {
  const page = await primary.scan(namespace, {
    settings: settings!,
    signal,
    limitEvents: limit,
    limitBytes: PAGE_BYTES,
    ...(cursor !== undefined && { cursor }),
  });
  // An arrival-indexed shadow finds an event only within the accept window of its arrival: now.
  const oldest = shadow.capabilities.arrivalIndexed
    ? BigInt(Date.now() - settings!.acceptPastMs) * 1000n
    : undefined;
  let bytes = 0;
  let skipped = 0;
  const series = new Map<string, TsEvent[]>();
  for (const { seriesId, event } of page.events) {
    bytes += event.payload.length;
    if (oldest !== undefined && event.eventTimeUs < oldest) {
      skipped++;
      continue;
    }
    const events = series.get(seriesId);
    if (events) events.push(event);
    else series.set(seriesId, [event]);
  }
  if (write) {
    await eachBounded([...series], ([seriesId, events]) =>
      shadow.write(namespace, seriesId, events, { settings: settings!, signal }),
    );
  }
  return { records: page.events.length, bytes, skipped, cursor: page.cursor };
}

async function copyNodes(
  primary: GraphBackend,
  shadow: GraphBackend,
  { namespace, signal, limit, write }: CopyContext,
  cursor: string | undefined,
): Promise<CopiedPage> {
  const page = await primary.scanNodes(namespace, { limit, signal, ...(cursor !== undefined && { cursor }) });
  const bytes = page.nodes.reduce((sum, node) => sum + node.id.length + node.label.length, 0);
  if (write && page.nodes.length > 0) {
    let nodes = page.nodes;
    for (let attempt = 0; attempt <= RECHECKS && nodes.length > 0; attempt++) {
      await shadow.upsertNodes(namespace, nodes, { signal });
      const ids = nodes.map((node) => node.id);
      const now = new Map(
        (await primary.getNodes(namespace, ids, { signal })).map((node) => [node.id, node]),
      );
      const gone = ids.filter((id) => !now.has(id));
      if (gone.length > 0) await shadow.deleteNodes(namespace, gone, { signal });
      nodes = nodes.flatMap((node) => {
        const current = now.get(node.id);
        return current && nodeDigest(current) !== nodeDigest(node) ? [current] : [];
      });
    }
  }
  return { records: page.nodes.length, bytes, skipped: 0, cursor: page.cursor };
}

async function copyEdges(
  primary: GraphBackend,
  shadow: GraphBackend,
  { namespace, signal, limit, write }: CopyContext,
  cursor: string | undefined,
): Promise<CopiedPage> {
  const page = await primary.scanEdges(namespace, { limit, signal, ...(cursor !== undefined && { cursor }) });
  const bytes = page.edges.reduce((sum, edge) => sum + edgeKey(edge).length, 0);
  if (write && page.edges.length > 0) {
    let edges = page.edges;
    for (let attempt = 0; attempt <= RECHECKS && edges.length > 0; attempt++) {
      try {
        await shadow.upsertEdges(namespace, edges, { signal });
      } catch (error) {
        if (!(error instanceof PrismError) || error.reason !== "EDGE_ENDPOINT_MISSING") throw error;
        // A node deleted (or re-created) in the primary since the node phase: bring the ends over.
        await copyEndpoints(primary, shadow, namespace, edges, signal);
        edges = await primary.getEdges(namespace, edges, { signal });
        if (edges.length > 0) await shadow.upsertEdges(namespace, edges, { signal });
      }
      const now = new Map((await primary.getEdges(namespace, edges, { signal })).map((e) => [edgeKey(e), e]));
      const gone = edges.filter((edge) => !now.has(edgeKey(edge)));
      if (gone.length > 0) await shadow.deleteEdges(namespace, gone, { signal });
      edges = edges.flatMap((edge) => {
        const current = now.get(edgeKey(edge));
        return current && edgeDigest(current) !== edgeDigest(edge) ? [current] : [];
      });
    }
  }
  return { records: page.edges.length, bytes, skipped: 0, cursor: page.cursor };
}

function encodePosition(position: ScanPosition): string {
  return JSON.stringify([position.id, Buffer.from(position.key).toString("base64")]);
}

function decodePosition(cursor: string): ScanPosition {
  const [id, key] = JSON.parse(cursor) as [string, string];
  return { id, key: new Uint8Array(Buffer.from(key, "base64")) };
}

/** Runs `work` over `items`, at most {@link PARALLEL} at a time; rejects with the first failure. */
async function eachBounded<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}
