import pg from "pg";
import { type Dataset, recordId } from "./dataset.js";

/**
 * The statement `@prism/postgres` runs for a `Get` of a whole record (`getAll` in
 * patterns/postgres/src/sql.ts, schema `prism`): the same text, so the same plan and the same work
 * in the server. Keep it in step with that file; the bench compares hops, not queries.
 */
const GET_ALL = `SELECT key, CASE WHEN kept THEN value END AS value, chunked, expires_ms, kept
  FROM (
    SELECT *, (n <= $4::int AND (n = 1 OR running <= $5::bigint)) AS kept
    FROM (
      SELECT key, value, chunked, round(extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms,
             length(key) + length(value) AS size,
             row_number() OVER w AS n, sum(length(key) + length(value)) OVER w AS running
      FROM (SELECT key, value, chunked, expires_at FROM "prism".kv_items WHERE namespace = $1 AND id = $2) AS found
      WHERE (expires_at IS NULL OR expires_at > ('epoch'::timestamptz + $3::bigint * interval '1 millisecond'))
        AND key >= $6
      WINDOW w AS (ORDER BY key ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      ORDER BY key
      LIMIT $4::int + 1
    ) AS candidates
    WHERE n <= 2 OR running - size <= $5::bigint
  ) AS bounded
  ORDER BY key`.replace(/\s+/g, " ");

/** The gateway's default page bounds (`keyvalue.defaultPageItems`, `defaultPageBytes`). */
const PAGE_ITEMS = 1000;
const PAGE_BYTES = 1 << 20;
const NO_LOWER_BOUND = Buffer.alloc(0);

export interface PageRow {
  key: Buffer;
  value: Buffer | null;
  kept: boolean;
}

/**
 * The baseline of the postgres comparison: the backend's `Get` query issued straight from the
 * bench process through a `pg.Pool` as large as the gateway backend's, prepared once per connection.
 */
export class DirectPgReader {
  private readonly pool: pg.Pool;
  private readonly ids: string[];

  constructor(
    url: string,
    poolSize: number,
    private readonly namespace: string,
    private readonly dataset: Dataset,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: "prism-bench" });
    this.pool.on("error", () => undefined);
    this.ids = Array.from({ length: dataset.records }, (_, i) => recordId(i));
  }

  /**
   * Reads record `seq % records`; rejects unless it is one kept row with the expected value size.
   *
   * @example await reader.get(42)
   */
  async get(seq: number): Promise<void> {
    const id = this.ids[seq % this.ids.length]!;
    const rows = await this.read(id);
    if (rows.length !== 1 || !rows[0]!.kept || rows[0]!.value?.length !== this.dataset.valueBytes) {
      throw new Error(`direct pg read of ${id} returned an unexpected page`);
    }
  }

  /** The rows of record `id`'s first page, as the backend's query returns them. */
  async read(id: string): Promise<PageRow[]> {
    const values = [this.namespace, id, Date.now(), PAGE_ITEMS, PAGE_BYTES, NO_LOWER_BOUND];
    const { rows } = await this.pool.query<PageRow>({ name: "prism_bench_get_all", text: GET_ALL, values });
    return rows;
  }

  /** Closes every connection. */
  close(): Promise<void> {
    return this.pool.end();
  }
}
