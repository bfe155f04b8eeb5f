import { createConnection, createServer, type Socket } from "node:net";

/** A loopback L4 balancer in front of gateways, the way a Service or cloud balancer sits. */
export interface TcpBalancer {
  /** `127.0.0.1:port` clients connect to. */
  address: string;
  /** Stops sending new connections to upstream `index` (a readiness probe failing). */
  markOut(index: number): void;
  /** Sends new connections to upstream `index` again. */
  markIn(index: number): void;
  /** Connections made to each upstream so far. */
  connections(): number[];
  close(): Promise<void>;
}

/**
 * Round-robin over `upstreams` (`host:port`) for each new client connection. An upstream that
 * refuses the connection is skipped for the next one in rotation; a connection no upstream takes is
 * closed. Bytes are piped both ways unchanged: HTTP/2 sessions, GOAWAYs included, pass through.
 *
 * @example const balancer = await startTcpBalancer(["127.0.0.1:8980", "127.0.0.1:8982"]);
 */
export async function startTcpBalancer(upstreams: readonly string[]): Promise<TcpBalancer> {
  const inRotation = upstreams.map(() => true);
  const made = upstreams.map(() => 0);
  const open = new Set<Socket>();
  let next = 0;

  /** Connects `client` to `candidates[tried]`, or to the next candidate when that one refuses. */
  const connectUpstream = (client: Socket, candidates: number[], tried: number) => {
    const index = candidates[tried];
    if (index === undefined) {
      client.destroy();
      return;
    }
    const upstreamAddress = upstreams[index]!;
    const colon = upstreamAddress.lastIndexOf(":");
    const upstream = createConnection({
      host: upstreamAddress.slice(0, colon),
      port: Number(upstreamAddress.slice(colon + 1)),
    });
    open.add(upstream);
    upstream.once("close", () => open.delete(upstream));
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      made[index]!++;
      upstream.setNoDelay(true);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on("error", () => {
      if (!connected) connectUpstream(client, candidates, tried + 1);
      else client.destroy();
    });
    upstream.once("close", () => {
      if (connected) client.destroy();
    });
    client.once("close", () => upstream.destroy());
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.once("close", () => open.delete(client));
    client.setNoDelay(true);
    client.on("error", () => client.destroy());
    const candidates = upstreams.map((_, i) => (next + i) % upstreams.length).filter((i) => inRotation[i]);
    next = ((candidates[0] ?? next) + 1) % upstreams.length;
    connectUpstream(client, candidates, 0);
  });
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", done);
  });
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    markOut: (index) => {
      inRotation[index] = false;
    },
    markIn: (index) => {
      inRotation[index] = true;
    },
    connections: () => [...made],
    close: () =>
      new Promise((done) => {
        for (const socket of open) socket.destroy();
        server.close(() => done());
      }),
  };
}
