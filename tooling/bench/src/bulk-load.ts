import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import type { BackendDriver } from "@prism/core";
import { PutRequestSchema } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import pg from "pg";
import { type Dataset, recordId, recordValue } from "./dataset.js";
import { frame, h2Unary, kvHeaders } from "./h2-client.js";

/** Called now and then with the records written so far. */
export type Progress = (written: number) => void;

/**
 * Writes records `0 … records − 1` through the gateway's `Put`, `concurrency` calls in flight over
 * `channels` HTTP/2 connections (bare `node:http2`, so the bench spends little CPU). Works for every
 * backend, and writes exactly what a client would. Rejects on the first failed call.
 *
 * @example await putThroughGateway(gateway.address, "bench-kv-n1000", dataset, { concurrency: 64, channels: 4 })
 */
export async function putThroughGateway(
  address: string,
  namespace: string,
  dataset: Dataset,
  options: { concurrency: number; channels: number; onProgress?: Progress },
): Promise<void> {
  const sessions = Array.from({ length: options.channels }, () => {
    const session = connect(`http://${address}`);
    session.on("error", () => undefined);
    return session;
  });
  const headers = kvHeaders("Put");
  let next = 0;
  let written = 0;
  try {
    const writer = async (): Promise<void> => {
      for (let i = next++; i < dataset.records; i = next++) {
        const request = create(PutRequestSchema, {
          namespace,
          id: recordId(i),
          items: [{ key: new Uint8Array(0), value: recordValue(i, dataset) }],
        });
        const body = frame(toBinary(PutRequestSchema, request));
        const { status, message } = await h2Unary(sessions[i % sessions.length]!, headers, body);
        if (status !== "0")
          throw new Error(`Put of ${recordId(i)} failed: ${status ?? "no status"} ${message}`);
        if (++written % 10_000 === 0) options.onProgress?.(written);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, writer));
    options.onProgress?.(written);
  } finally {
    for (const session of sessions) session.close();
  }
}

/** Rows per INSERT of {@link insertPostgres}. */
const BATCH = 5000;

/**
 * Writes the records straight into `@prism/postgres`'s table (`prism.kv_items`, one row per item:
 * key "", the value, no expiry, not chunked — what its `put` stores for a one-item record), 5,000
 * rows per statement: ~50× faster than a million `Put`s. The gateway must have created the schema
 * (it migrates at start). Read back through the gateway afterwards (`verify`) to prove the layout.
 *
 * @example await insertPostgres(url, "bench-kv-n1000000", dataset, (n) => log(n))
 */
export async function insertPostgres(
  url: string,
  namespace: string,
  dataset: Dataset,
  onProgress?: Progress,
): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: "prism-bench-load" });
  await client.connect();
  try {
    for (let from = 0; from < dataset.records; from += BATCH) {
      const to = Math.min(dataset.records, from + BATCH);
      const ids: string[] = [];
      const values: Buffer[] = [];
      for (let i = from; i < to; i++) {
        ids.push(recordId(i));
        values.push(Buffer.from(recordValue(i, dataset)));
      }
      await client.query({
        text: `INSERT INTO "prism".kv_items (namespace, id, key, value, expires_at, chunked)
               SELECT $1, id, '\\x'::bytea, value, NULL, false FROM unnest($2::text[], $3::bytea[]) AS t(id, value)
               ON CONFLICT (namespace, id, key) DO UPDATE
               SET value = excluded.value, expires_at = NULL, chunked = false`,
        values: [namespace, ids, values],
      });
      onProgress?.(to);
    }
  } finally {
    await client.end();
  }
}

/**
 * How many items a namespace holds in `@prism/postgres`'s table, and whether all are one-item records
 * of the dataset's value size — so a rerun can reuse a namespace an earlier run loaded.
 *
 * @example if (await postgresHolds(url, ns, dataset)) skip()
 */
export async function postgresHolds(url: string, namespace: string, dataset: Dataset): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, application_name: "prism-bench-load" });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string; good: string }>({
      text: `SELECT count(*) AS n, count(*) FILTER (WHERE key = '\\x'::bytea AND length(value) = $2
               AND expires_at IS NULL AND NOT chunked) AS good
             FROM "prism".kv_items WHERE namespace = $1`,
      values: [namespace, dataset.valueBytes],
    });
    return Number(rows[0]?.n) === dataset.records && Number(rows[0]?.good) === dataset.records;
  } catch {
    return false; // e.g. no schema yet
  } finally {
    await client.end();
  }
}

/**
 * Writes the records with the backend package's own `put` from the bench process (`concurrency`
 * calls in flight), bypassing the gateway: the layout is the package's, the gateway's CPU is spared.
 * For a store the gateway later opens (a SQLite file) or shares (NATS).
 *
 * @example await putThroughBackend(sqliteDriver, { path: "/tmp/x/records.db" }, ns, dataset, { concurrency: 1 })
 */
export async function putThroughBackend(
  driver: BackendDriver,
  options: Record<string, unknown>,
  namespace: string,
  dataset: Dataset,
  load: { concurrency: number; onProgress?: Progress },
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "prism-bench-load-"));
  const backend = await driver.open({ name: "bench-load", options, dataDir });
  try {
    const kv = backend.keyvalue;
    if (!kv) throw new Error(`the ${driver.type} backend has no KeyValue`);
    let next = 0;
    let written = 0;
    const writer = async (): Promise<void> => {
      for (let i = next++; i < dataset.records; i = next++) {
        await kv.put(
          namespace,
          recordId(i),
          [{ key: new Uint8Array(0), value: recordValue(i, dataset) }],
          {},
        );
        if (++written % 10_000 === 0) load.onProgress?.(written);
      }
    };
    await Promise.all(Array.from({ length: load.concurrency }, writer));
    load.onProgress?.(written);
  } finally {
    await backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
