import { join } from "node:path";
import type { GatewayConfig } from "../config/gateway-config.js";
import { openSqliteFile } from "../config/sqlite-connection.js";
import { AuditLog } from "./audit-log.js";
import { SqliteAuditStore } from "./audit-store.js";
import { DataKeys } from "./data-keys.js";
import { AesFieldCipher } from "./field-cipher.js";
import { SqliteKeyStore } from "./key-store.js";
import { Keyring } from "./keyring.js";
import { ReEncryptJobs } from "./reencrypt-job.js";

/**
 * The gateway's PII machinery that is not per namespace: data keys, the field cipher, the audit
 * log and re-encrypt jobs. The value policy of each schema namespace uses `cipher` and `audit`;
 * the admin RPCs use all of it.
 */
export interface PiiRuntime {
  readonly keys: DataKeys;
  readonly cipher: AesFieldCipher;
  readonly audit: AuditLog;
  readonly jobs: ReEncryptJobs;
  /** Cancels running jobs and closes the store connections. */
  close(): Promise<void>;
}

/**
 * Loads the keyring (if configured; a bad one fails the start) and opens the key store and audit
 * log where the config store lives: its SQLite file, or its PostgreSQL schema (pg loaded only then).
 *
 * @example const pii = await openPiiRuntime(config)
 */
export async function openPiiRuntime(
  config: Pick<GatewayConfig, "dataDir" | "configStore" | "pii">,
): Promise<PiiRuntime> {
  const keyring = config.pii.keyring && (await Keyring.load(config.pii.keyring));
  const stores = await openStores(config);
  const keys = new DataKeys(keyring, stores.keys, { currentKeyTtlMs: config.pii.currentKeyTtlMs });
  const jobs = new ReEncryptJobs();
  let closing: Promise<void> | undefined;
  return {
    keys,
    cipher: new AesFieldCipher(keys),
    audit: new AuditLog(stores.audit),
    jobs,
    close() {
      closing ??= (async () => {
        await jobs.stop();
        await stores.close();
      })();
      return closing;
    },
  };
}

async function openStores(config: Pick<GatewayConfig, "dataDir" | "configStore">) {
  const settings = config.configStore;
  if (settings.type === "postgres") {
    const { openPostgresPiiStores } = await import("./postgres-pii-store.js");
    return openPostgresPiiStores(settings);
  }
  const db = openSqliteFile(join(config.dataDir, settings.path));
  return {
    keys: new SqliteKeyStore(db),
    audit: new SqliteAuditStore(db),
    close: async () => {
      if (db.open) db.close();
    },
  };
}
