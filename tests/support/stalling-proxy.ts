import { createConnection, createServer, type Socket } from "node:net";
import { Transform } from "node:stream";

/** A loopback TCP proxy in front of one server that can hold back chosen requests. */
export interface StallingProxy {
  /** `127.0.0.1:port` to connect to instead of the server. */
  address: string;
  port: number;
  /**
   * From now on, the first request (client → server bytes) that mentions a token matching
   * `pattern` is held for `ms` before it is forwarded, and with it everything after it on that
   * connection; later requests mentioning the same token pass at once. A slow moment of the
   * server for one request — what hedged reads are for — made repeatable.
   */
  stallFirst(pattern: RegExp, ms: number): void;
  /** Requests held so far. */
  stalled(): number;
  close(): Promise<void>;
}

/**
 * Starts the proxy to `upstream` (`host:port`). Bytes are piped unchanged; only their timing changes.
 *
 * @example const proxy = await startStallingProxy("127.0.0.1:15432"); proxy.stallFirst(/slow-\d+/, 1000);
 */
export async function startStallingProxy(upstream: string): Promise<StallingProxy> {
  const colon = upstream.lastIndexOf(":");
  const target = { host: upstream.slice(0, colon), port: Number(upstream.slice(colon + 1)) };
  const open = new Set<Socket>();
  const seen = new Set<string>();
  let rule: { pattern: RegExp; ms: number } | undefined;
  let stalled = 0;

  const holdBack = () =>
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        const token = rule && new RegExp(rule.pattern.source).exec(chunk.toString("latin1"))?.[0];
        if (!rule || !token || seen.has(token)) return done(null, chunk);
        seen.add(token);
        stalled++;
        setTimeout(() => done(null, chunk), rule.ms);
      },
    });

  const server = createServer((client) => {
    const server = createConnection(target);
    for (const socket of [client, server]) {
      open.add(socket);
      socket.once("close", () => open.delete(socket));
      socket.on("error", () => {
        client.destroy();
        server.destroy();
      });
    }
    client.pipe(holdBack()).pipe(server);
    server.pipe(client);
    client.once("close", () => server.destroy());
    server.once("close", () => client.destroy());
  });
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", done);
  });
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    port,
    stallFirst: (pattern, ms) => {
      rule = { pattern, ms };
    },
    stalled: () => stalled,
    close: () =>
      new Promise((done) => {
        for (const socket of open) socket.destroy();
        server.close(() => done());
      }),
  };
}
