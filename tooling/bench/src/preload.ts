import { toBinary } from "@bufbuild/protobuf";
import { createPromiseClient } from "@prism/proto/grpc";
import { GetResponseSchema, KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { type Dataset, expectedResponse, recordId, recordValue } from "./dataset.js";

/**
 * Writes every record of `dataset` through the gateway's `Put` (16 calls in flight), then checks
 * that it reads them back exactly.
 *
 * @example await preload("127.0.0.1:40123", "bench-kv", dataset)
 */
export async function preload(
  address: string,
  namespace: string,
  dataset: Dataset,
  headers: Record<string, string> = {},
): Promise<void> {
  const kv = createPromiseClient(KeyValueService, { address, headers });
  try {
    let next = 0;
    const writer = async () => {
      for (let i = next++; i < dataset.records; i = next++) {
        const value = recordValue(i, dataset);
        await kv.put(
          { namespace, id: recordId(i), items: [{ key: new Uint8Array(0), value }] },
          { timeoutMs: 30_000 },
        );
      }
    };
    await Promise.all(Array.from({ length: 16 }, writer));
  } finally {
    kv.close();
  }
  await verify(address, namespace, dataset, [], headers);
}

/**
 * Checks, decoded and byte for byte, that `address` serves the dataset (first, middle and last
 * record, plus any `more` indices), so no target is measured answering errors or the wrong data.
 *
 * @example await verify(bare.address, "bench-kv", dataset)
 */
export async function verify(
  address: string,
  namespace: string,
  dataset: Dataset,
  more: readonly number[] = [],
  headers: Record<string, string> = {},
): Promise<void> {
  const kv = createPromiseClient(KeyValueService, { address, headers });
  try {
    for (const index of new Set([0, Math.floor(dataset.records / 2), dataset.records - 1, ...more])) {
      const response = await kv.get({ namespace, id: recordId(index) }, { timeoutMs: 10_000 });
      const actual = toBinary(GetResponseSchema, response);
      if (Buffer.compare(actual, expectedResponse(index, dataset)) !== 0) {
        throw new Error(`${address} answered record ${recordId(index)} of ${namespace} with unexpected data`);
      }
    }
  } finally {
    kv.close();
  }
}
