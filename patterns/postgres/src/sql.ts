/**
 * Every statement the KeyValue backend runs, built once per schema at open. Each has a name, so
 * `pg` prepares it once per connection and later calls only bind values. Plans must stay good
 * when PostgreSQL switches a prepared statement to its generic plan (no parameter values known),
 * which is why some statements below are shaped to pin their plan.
 *
 * Conventions:
 * - Times travel as epoch milliseconds (`bigint`) and are converted in SQL, exactly: no client or
 *   server time zone, no float rounding, and "now" is always the gateway's clock (the one clients
 *   and the conformance suite compare against), never the database's `now()`.
 * - A key lower bound is always inclusive: `after` (exclusive) is passed as `after || 0x00`, its
 *   immediate successor in unsigned byte order, so one `key >= $n` serves both.
 */

/** A named, parameterised statement. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** How long an idempotency key is remembered (the window in which a replay is a no-op). */
const IDEMPOTENCY_WINDOW = "24 hours";

/** Epoch milliseconds (a bigint parameter) as a timestamptz. */
const at = (param: string): string => `('epoch'::timestamptz + ${param}::bigint * interval '1 millisecond')`;

/** A timestamptz column back to epoch milliseconds; exact for the ms values we store. */
const EXPIRES_MS = "round(extract(epoch FROM expires_at) * 1000)::float8";

const live = (now: string): string => `(expires_at IS NULL OR expires_at > ${at(now)})`;

/** Bytes an item counts for in page bounds (`length(bytea)` reads the TOAST header, not the value). */
const SIZE = "length(key) + length(value)";

const ITEM_COLUMNS = "key, value, chunked, expires_at";

/** The statements of one schema. */
export type Statements = ReturnType<typeof buildStatements>;

/** Builds the statements for tables in `schema` (already validated as a plain identifier). */
export function buildStatements(schema: string) {
  const items = `"${schema}".kv_items`;
  const claims = `"${schema}".kv_idempotency`;

  // $1 namespace, $2 id, $3 now, $4 limitItems, $5 limitBytes, $6 inclusive lower key bound, $7 per variant.
  const getPage = (name: string, source: string, predicate: string): Statement =>
    statement(
      name,
      page({
        position: "key",
        from: `${source} WHERE ${live("$3")} AND key >= $6 ${predicate}`,
        limitItems: "$4",
        limitBytes: "$5",
      }),
    );
  // Sources of a record's items, each as rows `found(key, value, chunked, expires_at)`.
  const recordOf = (namespace: string, id: string) =>
    `${items} WHERE namespace = ${namespace} AND id = ${id}`;
  const record = recordOf("$1", "$2");
  const wholeRecord = `(SELECT ${ITEM_COLUMNS} FROM ${record}) AS found`;

  // One index probe per wanted key. A LATERAL subquery with LIMIT is never flattened, so this
  // stays a nested loop even in a generic plan; `key = ANY($n)` or a plain join would let the
  // planner filter or hash the whole record when it guesses records are small.
  const probe = (keys: string, alias: string, columns: string, from = record) =>
    `unnest(${keys}::bytea[]) AS ${alias}(wanted_key)
     CROSS JOIN LATERAL (SELECT ${columns} FROM ${from} AND key = wanted_key LIMIT 1) AS found`;

  // Many callers' pages in one statement: one row per caller (`slot` = its 1-based position), and
  // for each, the single-record page above as a LATERAL subquery. LATERAL makes it a nested loop,
  // so every caller's page keeps its own index scan and LIMIT, and its rows come out together in
  // key order (the loop runs callers one after another; no sort, which would copy every value).
  // $1 now, $2 namespaces, $3 ids, $4 lower key bounds, $5 limitItems, $6 limitBytes [, $7 every
  // caller's keys, $8 / $9 each caller's first / last index into $7].
  const getBatch = (name: string, source: string, keyArrays = "", keyColumns = ""): Statement =>
    statement(
      name,
      `SELECT caller.slot::int AS slot, found_page.*
       FROM unnest($2::text[], $3::text[], $4::bytea[], $5::int[], $6::bigint[]${keyArrays})
         WITH ORDINALITY AS caller(namespace, id, lower, limit_items, limit_bytes${keyColumns}, slot)
       CROSS JOIN LATERAL (${page({
         position: "key",
         from: `${source} WHERE ${live("$1")} AND key >= caller.lower`,
         limitItems: "caller.limit_items",
         limitBytes: "caller.limit_bytes",
       })}) AS found_page`,
    );
  const callerRecord = recordOf("caller.namespace", "caller.id");

  // $1 namespace, $2 now, $3 limitItems, $4 limitBytes [, $5 after id, $6 after key].
  const scanPage = (name: string, after: string): Statement =>
    statement(
      name,
      page({
        position: "id, key",
        from: `${items} WHERE namespace = $1 AND ${live("$2")} ${after}`,
        limitItems: "$3",
        limitBytes: "$4",
      }),
    );

  // Claims an idempotency key; an expired claim the sweeper has not deleted yet is claimed anew.
  // A concurrent claim of the same key waits on the unique index until the first commits or
  // rolls back, so exactly one wins.
  const claimText = (namespace: string, key: string, now: string): string =>
    `INSERT INTO ${claims} AS claimed (namespace, key, forget_at)
     VALUES (${namespace}, ${key}, ${at(now)} + interval '${IDEMPOTENCY_WINDOW}')
     ON CONFLICT (namespace, key) DO UPDATE SET forget_at = EXCLUDED.forget_at
       WHERE claimed.forget_at <= ${at(now)}
     RETURNING 1`;

  // A write, plain and in a variant that first claims an idempotency key in the same statement
  // (one round trip, one implicit transaction). `dml(guard)` must apply only when `guard` holds.
  const write = (name: string, params: number, dml: (guard: string) => string) => ({
    plain: statement(name, dml("TRUE")),
    claimed: statement(
      `${name}_claimed`,
      `WITH claim AS (${claimText("$1", `$${params + 1}`, `$${params + 2}`)}),
            applied AS (${dml("EXISTS (SELECT 1 FROM claim)")})
       SELECT count(*)::int AS claimed FROM claim`,
    ),
  });

  return Object.freeze({
    getAll: getPage("prism_kv_get_all", wholeRecord, ""),
    getRange: getPage("prism_kv_get_range", wholeRecord, "AND key < $7"),
    getKeys: getPage("prism_kv_get_keys", probe("$7", "wanted", ITEM_COLUMNS), ""),
    getAllBatch: getBatch("prism_kv_get_all_batch", `(SELECT ${ITEM_COLUMNS} FROM ${callerRecord}) AS found`),
    getKeysBatch: getBatch(
      "prism_kv_get_keys_batch",
      probe("($7::bytea[])[caller.first_key:caller.last_key]", "wanted", ITEM_COLUMNS, callerRecord),
      ", $8::int[], $9::int[]",
      ", first_key, last_key",
    ),
    scanFirst: scanPage("prism_kv_scan_first", ""),
    scanAfter: scanPage("prism_kv_scan_after", "AND (id, key) > ($5::text, $6::bytea)"),

    // $1 namespace, $2 id, $3 keys, $4 values, $5 expiry ms (null = none), $6 chunked.
    put: write(
      "prism_kv_put",
      6,
      (guard) =>
        `INSERT INTO ${items} AS stored (namespace, id, key, value, expires_at, chunked)
         SELECT $1, $2, item.key, item.value, ${at("item.expires_ms")}, item.chunked
         FROM unnest($3::bytea[], $4::bytea[], $5::bigint[], $6::boolean[]) AS item(key, value, expires_ms, chunked)
         WHERE ${guard}
         ON CONFLICT (namespace, id, key) DO UPDATE
           SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, chunked = EXCLUDED.chunked`,
    ),
    // $1 namespace, $2 id.
    deleteAll: write(
      "prism_kv_delete_all",
      2,
      (guard) => `DELETE FROM ${items} WHERE namespace = $1 AND id = $2 AND ${guard}`,
    ),
    // $1 namespace, $2 id, $3 keys. By ctid, from the same per-key probes as getKeys.
    deleteKeys: write(
      "prism_kv_delete_keys",
      3,
      (guard) =>
        `DELETE FROM ${items} WHERE ctid = ANY(ARRAY(SELECT found.ctid FROM ${probe("$3", "doomed", "ctid")}))
         AND ${guard}`,
    ),
    // $1 namespace, $2 id, $3 start.
    deleteFrom: write(
      "prism_kv_delete_from",
      3,
      (guard) => `DELETE FROM ${items} WHERE namespace = $1 AND id = $2 AND key >= $3 AND ${guard}`,
    ),
    // $1 namespace, $2 id, $3 start, $4 end.
    deleteRange: write(
      "prism_kv_delete_range",
      4,
      (guard) =>
        `DELETE FROM ${items} WHERE namespace = $1 AND id = $2 AND key >= $3 AND key < $4 AND ${guard}`,
    ),

    // $1 namespace, $2 idempotency key, $3 now. For `mutate`, inside its transaction.
    claim: statement("prism_kv_claim", claimText("$1", "$2", "$3")),

    // $1 now, $2 batch size. SKIP LOCKED: gateways sweeping at once split the work, never wait.
    // By ctid (a TID scan): matching on the primary key lets the planner hash-join the table.
    sweepItems: statement(
      "prism_kv_sweep_items",
      `DELETE FROM ${items} WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM ${items} WHERE expires_at <= ${at("$1")} LIMIT $2 FOR UPDATE SKIP LOCKED))`,
    ),
    sweepClaims: statement(
      "prism_kv_sweep_claims",
      `DELETE FROM ${claims} WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM ${claims} WHERE forget_at <= ${at("$1")} LIMIT $2 FOR UPDATE SKIP LOCKED))`,
    ),

    health: statement("prism_health", "SELECT 1"),
  });
}

/**
 * One byte-bounded page in SQL. Rows come in `position` order with a running byte total (a window
 * function), at most `limitItems + 1` of them, so an index scan stops early. A row is `kept` when
 * it is within the item limit and the running total stays within `limitBytes` (the first row is
 * always kept, so an oversized item still makes progress). Of the rows not kept, only the first
 * comes back — without its value — to tell the caller that more follow: it is the row whose
 * predecessor still fit, or the second row when the first alone was over the bound.
 */
function page(spec: { position: string; from: string; limitItems: string; limitBytes: string }): string {
  const items = `${spec.limitItems}::int`;
  const bytes = `${spec.limitBytes}::bigint`;
  return `SELECT ${spec.position}, CASE WHEN kept THEN value END AS value, chunked, expires_ms, kept
    FROM (
      SELECT *, (n <= ${items} AND (n = 1 OR running <= ${bytes})) AS kept
      FROM (
        SELECT ${spec.position}, value, chunked, ${EXPIRES_MS} AS expires_ms, ${SIZE} AS size,
               row_number() OVER w AS n, sum(${SIZE}) OVER w AS running
        FROM ${spec.from}
        WINDOW w AS (ORDER BY ${spec.position} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ORDER BY ${spec.position}
        LIMIT ${items} + 1
      ) AS candidates
      WHERE n <= 2 OR running - size <= ${bytes}
    ) AS bounded
    ORDER BY ${spec.position}`;
}

/**
 * A statement with its values, as `pg` takes it: built once per call (pg copies it again itself).
 *
 * @example client.query(bound(sql.getAll, values))
 */
export function bound(
  statement: Statement,
  values: unknown[],
): { name: string; text: string; values: unknown[] } {
  return { name: statement.name, text: statement.text, values };
}

function statement(name: string, text: string): Statement {
  // Collapse indentation: the text is sent on every prepare and shows up in pg_stat_statements.
  return Object.freeze({ name, text: text.replace(/\s+/g, " ").trim() });
}
