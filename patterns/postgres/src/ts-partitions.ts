import { PrismError } from "@prism/core";
import type { PostgresPool } from "./postgres-pool.js";
import { bound } from "./sql.js";
import type { TsStatements } from "./ts-sql.js";

/** One UTC day in epoch microseconds: the span of a partition. */
const DAY_US = 86_400_000_000n;

const MAX_BIGINT = (1n << 63n) - 1n;
const MIN_BIGINT = -(1n << 63n);

/** Events deleted per statement in the partition that straddles the retention cut-off. */
const DELETE_BATCH = 5000;

/**
 * How long retention waits for the parent table's lock before it gives up on dropping a partition
 * until its next run: in-flight reads and writes hold a weaker lock, and calls that arrive while
 * a DROP waits queue behind it, so the wait must be short.
 */
const DROP_LOCK_TIMEOUT = "1s";

/** Advisory lock key (first half) for creating partitions: "prts". */
const PARTITION_LOCK = 0x70727473;

/** SQLSTATE of "no partition of relation found for row" (a partition dropped under a write). */
export const NO_PARTITION = "23514";
/** SQLSTATE of a lock wait cut by `lock_timeout`. */
const LOCK_TIMEOUT = "55P03";

/**
 * The physical layout of TimeSeries events (ADR-0011): `ts_events` is range-partitioned on
 * `(ns_id, event_time_us)`, one partition per namespace number and UTC day, named
 * `ts_events_<ns>_<day>` (`day` = days since the epoch, `m` for minus). Partitions are created
 * when a write first needs them and dropped whole once retention passed their end. Namespace
 * numbers and known partitions are cached: both only change here, and a write that finds its
 * partition dropped by another gateway's retention recreates it (see `forget`).
 */
export class TsPartitions {
  private readonly ids = new Map<string, number>();
  private readonly known = new Set<string>();
  private readonly parent: string;

  constructor(
    private readonly pool: PostgresPool,
    private readonly sql: TsStatements,
    private readonly schema: string,
  ) {
    this.parent = `"${schema}".ts_events`;
  }

  /**
   * The number of `namespace`, created on first use.
   *
   * @example const nsId = await partitions.namespaceId("demo-ts", signal)
   */
  async namespaceId(namespace: string, signal: AbortSignal | undefined): Promise<number> {
    const cached = this.ids.get(namespace);
    if (cached !== undefined) return cached;
    for (let attempt = 0; attempt < 2; attempt++) {
      const { rows } = await this.pool.run(signal, (client) =>
        client.query<{ id: number }>(bound(this.sql.namespaceId, [namespace])),
      );
      const id = rows[0]?.id;
      if (id !== undefined) {
        this.ids.set(namespace, id);
        return id;
      }
    }
    throw new PrismError("Internal", "namespace number not found after it was created");
  }

  /**
   * Makes sure the partitions for every time in `times` exist; a round trip only for days this
   * process has not seen yet.
   *
   * @example await partitions.ensure(nsId, events.map((e) => e.eventTimeUs), signal)
   */
  async ensure(nsId: number, times: readonly bigint[], signal: AbortSignal | undefined): Promise<void> {
    const days = new Set<bigint>();
    for (const time of times) days.add(dayOf(time));
    for (const day of days) {
      const name = partitionName(nsId, day);
      if (this.known.has(name)) continue;
      await this.create(nsId, day, name, signal);
      this.known.add(name);
    }
  }

  /** Forgets the partitions this process knows of one namespace (after a write found one gone). */
  forget(nsId: number): void {
    const prefix = partitionPrefix(nsId);
    for (const name of this.known) if (name.startsWith(prefix)) this.known.delete(name);
  }

  /**
   * Removes the namespace's events before `cutoffUs`: drops every partition that ends at or
   * before it, then deletes in batches inside the one partition it falls in. `removed` counts
   * deleted events; it is undefined when whole partitions were dropped (their size is not
   * counted: that would read them).
   *
   * @example const { removed } = await partitions.retain(nsId, cutoffUs, signal)
   */
  async retain(
    nsId: number,
    cutoffUs: bigint,
    signal: AbortSignal | undefined,
  ): Promise<{ removed?: number }> {
    const prefix = partitionPrefix(nsId);
    const { rows } = await this.pool.run(signal, (client) =>
      client.query<{ name: string }>(bound(this.sql.partitions, [this.parent, prefix])),
    );
    const cutoffDay = dayOf(cutoffUs);
    let dropped = false;
    let removed = 0;
    for (const { name } of rows) {
      const day = dayOfName(name.slice(prefix.length));
      if (day === undefined) continue;
      if (day < cutoffDay) {
        dropped = (await this.drop(name, signal)) || dropped;
      } else if (day === cutoffDay) {
        removed += await this.deleteBefore(name, cutoffUs, signal);
      }
    }
    return dropped ? {} : { removed };
  }

  /**
   * Creates and attaches one partition. Not `CREATE TABLE … PARTITION OF`, which locks the parent
   * exclusively (blocking every read and write of every namespace): a new table plus ATTACH
   * PARTITION takes only a SHARE UPDATE EXCLUSIVE lock on the parent. Identifiers and bounds are
   * built from integers only. An advisory lock serialises gateways creating the same partition.
   */
  private async create(
    nsId: number,
    day: bigint,
    name: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const table = `"${this.schema}"."${name}"`;
    const from = day * DAY_US;
    await this.pool.transaction(signal, async (client) => {
      await client.query({
        text: "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        values: [PARTITION_LOCK, `${this.schema}.${name}`],
      });
      const { rows } = await client.query<{ present: boolean }>(
        bound(this.sql.partitionExists, [name, this.parent]),
      );
      if (rows[0]?.present) return;
      await client.query(
        `CREATE TABLE ${table} (LIKE ${this.parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`,
      );
      // The first and last day bigint holds end at MINVALUE / MAXVALUE (their bounds would overflow).
      const lower = from < MIN_BIGINT ? "MINVALUE" : `${from}`;
      const upper = from + DAY_US > MAX_BIGINT ? "MAXVALUE" : `${from + DAY_US}`;
      await client.query(
        `ALTER TABLE ${this.parent} ATTACH PARTITION ${table}
         FOR VALUES FROM (${nsId}, ${lower}) TO (${nsId}, ${upper})`,
      );
    });
  }

  /** Drops one expired partition; false when its lock was not free in time (the next run retries). */
  private async drop(name: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.pool.transaction(signal, async (client) => {
        await client.query(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
        await client.query(`DROP TABLE IF EXISTS "${this.schema}"."${name}"`);
      });
    } catch (error) {
      if (sqlStateOf(error) === LOCK_TIMEOUT) return false;
      throw error;
    }
    this.known.delete(name);
    return true;
  }

  /** Deletes a partition's events before `cutoffUs`, a batch per statement (short transactions). */
  private async deleteBefore(
    name: string,
    cutoffUs: bigint,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const table = `"${this.schema}"."${name}"`;
    // By ctid, within this one partition (ctids are unique per table only); BRIN finds the rows.
    const text = `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM ${table} WHERE event_time_us < $1::bigint LIMIT $2))`;
    let removed = 0;
    for (;;) {
      const { rowCount } = await this.pool.run(signal, (client) =>
        client.query({ text, values: [cutoffUs, DELETE_BATCH] }),
      );
      removed += rowCount ?? 0;
      if ((rowCount ?? 0) < DELETE_BATCH) return removed;
    }
  }
}

/** The SQLSTATE behind a `PrismError` from the pool (kept in `cause`), if any. */
export function sqlStateOf(error: unknown): string | undefined {
  const cause = error instanceof PrismError ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The UTC day (days since the epoch, floored) of an epoch-microsecond time. */
export function dayOf(timeUs: bigint): bigint {
  const day = timeUs / DAY_US;
  return timeUs < 0n && day * DAY_US !== timeUs ? day - 1n : day;
}

const partitionPrefix = (nsId: number): string => `ts_events_${nsId}_`;

function partitionName(nsId: number, day: bigint): string {
  return `${partitionPrefix(nsId)}${day < 0n ? `m${-day}` : day}`;
}

function dayOfName(suffix: string): bigint | undefined {
  const match = /^(m?)(\d+)$/.exec(suffix);
  if (!match) return undefined;
  const day = BigInt(match[2]!);
  return match[1] ? -day : day;
}
