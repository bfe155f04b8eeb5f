import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { gatewayConfigSchema, openPiiRuntime, schemaValuePolicy, type ValueCall } from "@prism/gateway";
import { UserProfileSchema } from "@prism/proto/acme/v1/user_profile";
import { int } from "./format.js";

/**
 * `pnpm bench pii`: what schema-driven PII handling adds to one call of a schema namespace
 * (issue 10), measured in this process on the acme model (`UserProfile`: email and ssn audited,
 * phone and ssn sealed, five PII fields masked). The policy runs with the gateway's real parts:
 * AES-256-GCM data keys wrapped by a keyring key, and the hash-chained audit log, both in SQLite
 * beside a config store in a fresh directory (an audit append is durable, as in the gateway).
 * The reference is protobuf-es decoding and encoding the same message once, which a schema
 * namespace pays at most once per direction.
 */
export interface PiiBenchOptions {
  /** Calls per measured operation (after a fifth as many unmeasured). */
  readonly calls: number;
}

export interface PiiOperation {
  readonly name: string;
  readonly meanUs: number;
  readonly p99Us: number;
}

const OPERATIONS = [
  "protobuf-es decode + encode (reference)",
  "write: decode, seal 2 fields, audit",
  "read, pii reader: open, audit",
  "read, other reader: open, mask 5 fields, encode, audit",
] as const;

/**
 * Times each operation `calls` times, one at a time.
 *
 * @example const ops = await runPiiBench({ calls: 2000 })
 */
export async function runPiiBench(options: PiiBenchOptions): Promise<PiiOperation[]> {
  const dir = mkdtempSync(join(tmpdir(), "prism-bench-pii-"));
  const keyringVariable = "PRISM_BENCH_PII_KEYRING";
  process.env[keyringVariable] = randomBytes(32).toString("base64");
  const config = gatewayConfigSchema.parse({
    dataDir: dir,
    backends: {},
    pii: { keyring: { env: keyringVariable } },
  });
  const pii = await openPiiRuntime(config);
  try {
    const policy = schemaValuePolicy(UserProfileSchema, {
      cipher: pii.cipher,
      audit: pii.audit,
      hashKey: randomBytes(32),
    });
    if (!policy) throw new Error("acme.v1.UserProfile has no PII annotations");
    const value = toBinary(
      UserProfileSchema,
      create(UserProfileSchema, {
        userId: "u-1",
        email: "ada.lovelace@example.com",
        displayName: "Ada Lovelace",
        phone: "+44 20 7946 0018",
        ssn: "078-05-1120",
      }),
    );
    const call = (piiClear: boolean): ValueCall => ({
      namespace: "profiles",
      principal: { subject: "bench", groups: [] },
      piiClear,
      signal: new AbortController().signal,
    });
    const stored = await policy.toStorage("u-1", value, call(true));
    const steps: Record<(typeof OPERATIONS)[number], () => Promise<unknown>> = {
      "protobuf-es decode + encode (reference)": async () =>
        toBinary(UserProfileSchema, fromBinary(UserProfileSchema, value)),
      "write: decode, seal 2 fields, audit": () => policy.toStorage("u-1", value, call(true)),
      "read, pii reader: open, audit": () => policy.fromStorage("u-1", stored, call(true)),
      "read, other reader: open, mask 5 fields, encode, audit": () =>
        policy.fromStorage("u-1", stored, call(false)),
    };
    const results: PiiOperation[] = [];
    for (const name of OPERATIONS) {
      for (let i = 0; i < Math.ceil(options.calls / 5); i++) await steps[name]();
      const times = new Float64Array(options.calls);
      for (let i = 0; i < options.calls; i++) {
        const start = performance.now();
        await steps[name]();
        times[i] = (performance.now() - start) * 1000;
      }
      times.sort();
      const mean = times.reduce((sum, t) => sum + t, 0) / times.length;
      results.push({ name, meanUs: mean, p99Us: times[Math.floor(times.length * 0.99)] ?? mean });
    }
    return results;
  } finally {
    await pii.close();
    delete process.env[keyringVariable];
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The table of a run, then the numbers as one JSON line.
 *
 * @example process.stdout.write(formatPiiBench({ calls: 2000 }, ops))
 */
export function formatPiiBench(options: PiiBenchOptions, operations: readonly PiiOperation[]): string {
  const width = Math.max(...operations.map((o) => o.name.length));
  const lines = [
    `Prism bench pii: the PII cost per call of a schema namespace (acme.v1.UserProfile), ${int(options.calls)} calls each, one at a time, in this process; data keys and the audit log in SQLite.`,
    `${"operation".padEnd(width)}  mean µs   p99 µs`,
    ...operations.map(
      (o) => `${o.name.padEnd(width)}  ${o.meanUs.toFixed(1).padStart(7)}  ${o.p99Us.toFixed(1).padStart(7)}`,
    ),
    JSON.stringify({ bench: "pii", calls: options.calls, operations }),
  ];
  return `${lines.join("\n")}\n`;
}
