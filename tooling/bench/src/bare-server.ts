/**
 * Child entry: the ceiling for a Node gRPC server. Answers `prism.keyvalue.v1.KeyValueService/Get`
 * from a Map with exactly the gateway's wire format (protobuf-es through the same grpc-js adapter),
 * and does nothing else. Started by the bench; prints `listening on host:port` on stderr.
 *
 * With `--pg-namespace` (and the URL in `PRISM_BENCH_PG_URL`), it also answers `--pg-namespace` by running the postgres backend's own query
 * through a `pg.Pool` (`DirectPgReader`): the ceiling for a Node gRPC server in front of
 * PostgreSQL, i.e. the gateway on postgres minus everything the gateway adds.
 *
 * `bare-server.ts --records 1000 --value-bytes 100 --namespace bench-kv [--pg-namespace bench-kv-pg --pg-pool 10]`
 */
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import { grpcServiceDefinition } from "@prism/proto/grpc";
import {
  type GetRequest,
  type GetResponse,
  GetResponseSchema,
  type Item,
  ItemSchema,
  KeyValueService,
} from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { type Dataset, recordId, recordValue } from "./dataset.js";
import { DirectPgReader } from "./pg-direct.js";

const { values } = parseArgs({
  options: {
    records: { type: "string" },
    "value-bytes": { type: "string" },
    namespace: { type: "string" },
    "pg-namespace": { type: "string" },
    "pg-pool": { type: "string" },
  },
});
const dataset: Dataset = { records: Number(values.records), valueBytes: Number(values["value-bytes"]) };
const namespace = values.namespace ?? "";
const pgNamespace = values["pg-namespace"] ?? "";
const pgUrl = process.env.PRISM_BENCH_PG_URL;
const pg =
  pgNamespace && pgUrl
    ? new DirectPgReader(pgUrl, Number(values["pg-pool"] ?? 10), pgNamespace, dataset)
    : undefined;

const records = new Map<string, Item[]>();
for (let i = 0; i < dataset.records; i++) {
  records.set(recordId(i), [create(ItemSchema, { key: new Uint8Array(0), value: recordValue(i, dataset) })]);
}

function get(call: ServerUnaryCall<GetRequest, GetResponse>, callback: sendUnaryData<GetResponse>): void {
  const { request } = call;
  if (pg && request.namespace === pgNamespace) {
    pg.read(request.id).then(
      (rows) =>
        callback(
          null,
          create(GetResponseSchema, {
            items: rows.map((row) =>
              create(ItemSchema, { key: row.key, value: row.value ?? new Uint8Array(0) }),
            ),
          }),
        ),
      (error: Error) => callback({ code: status.UNAVAILABLE, details: error.message }),
    );
    return;
  }
  if (request.namespace !== namespace) {
    callback({ code: status.NOT_FOUND, details: `namespace ${request.namespace} not found` });
    return;
  }
  callback(null, create(GetResponseSchema, { items: records.get(request.id) ?? [] }));
}

// Same message limits as the gateway's server.
const server = new Server({
  // Like the gateway: channelz off, so the baseline stays the real ceiling of a grpc-js server.
  "grpc.enable_channelz": 0,
  "grpc.max_receive_message_length": 64 << 20,
  "grpc.max_send_message_length": 64 << 20,
});
server.addService(grpcServiceDefinition(KeyValueService), { get });
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`bare server failed to bind: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`bare grpc-js server listening on 127.0.0.1:${port}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    server.forceShutdown();
    process.exit(0);
  });
}
