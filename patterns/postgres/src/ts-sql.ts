/**
 * Every statement the TimeSeries backend runs with values, built once per schema at open; each
 * is named, so `pg` prepares it once per connection (see sql.ts for the conventions). Event times
 * travel as epoch-microsecond `bigint`s (strings on the wire, exact), arrival numbers likewise.
 */
import type { Statement } from "./sql.js";

/** The statements of one schema. */
export type TsStatements = ReturnType<typeof buildTsStatements>;

/** The columns a page or batch row carries back (payload and tags only on kept rows). */
const EVENT_COLUMNS = "event_time_us::text AS event_time_us, event_id";

/** `pg_advisory_xact_lock(bigint)` key of a series: namespace number high, series hash low. */
const SERIES_LOCK = "pg_advisory_xact_lock(($1::bigint << 32) | (hashtext($2::text)::bigint & 4294967295))";

/** Builds the statements for tables in `schema` (already validated as a plain identifier). */
export function buildTsStatements(schema: string) {
  const events = `"${schema}".ts_events`;
  const namespaces = `"${schema}".ts_namespaces`;
  const series = "ns_id = $1 AND series_id = $2";

  // $1 ns, $2 series, $3 start (inclusive), $4 end (exclusive), $5 tag filter, $6 limitEvents,
  // $7 limitBytes [, $8 after time, $9 after id] [, $10 highest arrival number (catch-up)].
  const read = (name: string, order: "ASC" | "DESC", after: boolean, upTo = "") => {
    const cursor = after
      ? `AND (event_time_us, event_id) ${order === "ASC" ? ">" : "<"} ($8::bigint, $9::text)`
      : "";
    return statement(
      name,
      page(
        `event_time_us ${order}, event_id ${order}`,
        `${events} WHERE ${series} AND event_time_us >= $3::bigint AND event_time_us < $4::bigint
           AND tags @> $5::jsonb ${cursor} ${upTo}`,
      ),
    );
  };

  return Object.freeze({
    /** The schema-qualified events table, for statements built elsewhere on it (the scan). */
    eventsTable: events,
    // $1 namespace. Returns its number; none when a concurrent first insert won (then retry: this
    // statement's snapshot predates that insert, the next one's does not).
    namespaceId: statement(
      "prism_ts_namespace_id",
      `WITH created AS (INSERT INTO ${namespaces} (namespace) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id)
       SELECT id FROM created UNION ALL SELECT id FROM ${namespaces} WHERE namespace = $1`,
    ),

    // $1 ns, $2 series, $3 times, $4 ids, $5 sizes, $6 payload offsets, $7 payload lengths,
    // $8 payloads, $9 tags, $10 channel, $11 notification. The batch travels as a few flat
    // parameters, not as arrays: times, sizes, offsets and lengths as comma-separated text, ids
    // joined by U+001F (control characters are not allowed in ids), every payload in ONE bytea
    // (sent binary) cut by offset and length, and the tags as one JSON array. pg's array
    // parameters escaped every element in JavaScript — the gateway's largest cost per event.
    // ONE statement, hence one implicit transaction and one round trip:
    // - the series lock is taken before the first arrival number is drawn (`nextval` runs in the
    //   projection, after the join with `lock` produced a row) and held until commit, so a
    //   series' events commit in arrival order — what the tail's hand-over relies on;
    // - ON CONFLICT DO NOTHING skips stored events and repeats within the batch alike, so
    //   `written` counts exactly the new ones;
    // - the notification is sent at commit, and only when something was written.
    write: statement(
      "prism_ts_write",
      `WITH lock AS MATERIALIZED (SELECT ${SERIES_LOCK}),
            inserted AS (
              INSERT INTO ${events} (ns_id, series_id, event_time_us, event_id, seq, size, payload, tags)
              SELECT $1, $2, e.event_time_us, e.event_id, nextval('"${schema}".ts_arrival'), e.size,
                     substr($8::bytea, e.payload_at + 1, e.payload_length), e.tags
              FROM lock CROSS JOIN unnest(
                  string_to_array($3::text, ',')::bigint[],
                  string_to_array($4::text, chr(31)),
                  string_to_array($5::text, ',')::int[],
                  string_to_array($6::text, ',')::int[],
                  string_to_array($7::text, ',')::int[],
                  ARRAY(SELECT t.tags FROM jsonb_array_elements($9::jsonb) WITH ORDINALITY AS t(tags, n) ORDER BY t.n))
                AS e(event_time_us, event_id, size, payload_at, payload_length, tags)
              ON CONFLICT DO NOTHING
              RETURNING 1)
       SELECT written, CASE WHEN written > 0 THEN pg_notify($10, $11) END AS notified
       FROM (SELECT count(*)::int AS written FROM inserted) AS counted`,
    ),

    readAsc: read("prism_ts_read_asc", "ASC", false),
    readAscAfter: read("prism_ts_read_asc_after", "ASC", true),
    readDesc: read("prism_ts_read_desc", "DESC", false),
    readDescAfter: read("prism_ts_read_desc_after", "DESC", true),
    // A tail's catch-up: the read above, limited to what had arrived when the tail started.
    catchUp: read("prism_ts_catch_up", "ASC", false, "AND seq <= $8::bigint"),
    catchUpAfter: read("prism_ts_catch_up_after", "ASC", true, "AND seq <= $10::bigint"),

    // $1 ns, $2 series. The series' latest arrival number (0 when none); see the write.
    lastArrival: statement(
      "prism_ts_last_arrival",
      `SELECT coalesce(max(seq), 0)::text AS seq FROM ${events} WHERE ${series}`,
    ),

    // $1 ns, $2 series, $3 after this arrival number, $4 tag filter, $5 most rows, $6 most bytes.
    // A prefix of the arrivals after $3: every row, matching or not (so the cursor moves past
    // events the filter skips), payload and tags only on matching rows, cut where the matching
    // rows' bytes pass $6 (the first row is always returned).
    arrivals: statement(
      "prism_ts_arrivals",
      `SELECT seq::text AS seq, ${EVENT_COLUMNS},
              CASE WHEN matched THEN payload END AS payload, CASE WHEN matched THEN tags END AS tags, matched
       FROM (
         SELECT *, row_number() OVER w AS n, sum(CASE WHEN matched THEN size ELSE 0 END) OVER w AS running
         FROM (
           SELECT seq, event_time_us, event_id, payload, tags, size, tags @> $4::jsonb AS matched
           FROM ${events} WHERE ${series} AND seq > $3::bigint
           ORDER BY seq LIMIT $5::int
         ) AS scanned
         WINDOW w AS (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
       ) AS bounded
       WHERE n = 1 OR running <= $6::bigint
       ORDER BY seq`,
    ),

    // $1 partition name (unqualified), $2 qualified parent. Whether the partition exists and
    // is attached (a partition is created and attached in one transaction, so both or neither).
    partitionExists: statement(
      "prism_ts_partition_exists",
      `SELECT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = $2::regclass AND c.relname = $1) AS present`,
    ),
    // $1 qualified parent, $2 partition name prefix of one namespace. Its partitions' names.
    partitions: statement(
      "prism_ts_partitions",
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = $1::regclass AND starts_with(c.relname, $2)`,
    ),
  });
}

/**
 * One byte-bounded page, as in sql.ts's `page`: rows in `order` with a running byte total, at
 * most `$6 + 1` of them; kept rows within `$6` events and `$7` bytes (the first always), plus the
 * first row not kept, without payload, to say that more follow. The outer query orders by row
 * number: by name, `event_time_us` there is the text column (10 sorts before 9).
 */
function page(order: string, from: string): string {
  return `SELECT ${EVENT_COLUMNS}, CASE WHEN kept THEN payload END AS payload,
            CASE WHEN kept THEN tags END AS tags, kept
    FROM (
      SELECT *, (n <= $6::int AND (n = 1 OR running <= $7::bigint)) AS kept
      FROM (
        SELECT event_time_us, event_id, payload, tags, size,
               row_number() OVER w AS n, sum(size) OVER w AS running
        FROM ${from}
        WINDOW w AS (ORDER BY ${order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ORDER BY ${order}
        LIMIT $6::int + 1
      ) AS candidates
      WHERE n <= 2 OR running - size <= $7::bigint
    ) AS bounded
    ORDER BY n`;
}

function statement(name: string, text: string): Statement {
  return Object.freeze({ name, text: text.replace(/\s+/g, " ").trim() });
}
