import { connect } from "node:net";

/**
 * What a `pg` client knows about its server session. `processID` and `secretKey` come from the
 * server's BackendKeyData message; pg keeps them as plain fields but does not type them.
 */
interface SessionKey {
  host?: unknown;
  port?: unknown;
  processID?: unknown;
  secretKey?: unknown;
}

/** CancelRequest protocol code (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Asks the server to cancel whatever `client`'s session is running, over a new socket, as the
 * wire protocol defines (the postmaster handles it before authentication, so it costs no
 * connection slot and works when the pool is saturated). Dropping our end of a connection alone
 * does not stop the server: a statement waiting on a lock would still run, and commit, once the
 * lock is free. Best effort: failures are ignored, `statement_timeout` remains the backstop.
 *
 * @example requestCancel(client, 3000)
 */
export function requestCancel(client: object, timeoutMs: number): void {
  const { host, port, processID, secretKey } = client as SessionKey;
  if (typeof processID !== "number" || typeof secretKey !== "number" || typeof port !== "number") return;
  if (typeof host !== "string") return;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  // A host starting with "/" is a Unix socket directory, as in libpq.
  const socket = host.startsWith("/") ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host);
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  socket.on("connect", () => socket.end(packet));
}
