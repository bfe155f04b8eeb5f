import WebSocket from "ws";

/**
 * The environment that opens the V8 inspector of a spawned gateway on a free loopback port (tests
 * only: the inspector is never on in a product run). `tsx` and the gateway's node process both
 * inherit it; each prints its `Debugger listening on ws://…` line.
 */
export const INSPECTOR_ENV = { NODE_OPTIONS: "--inspect=127.0.0.1:0" } as const;

/**
 * Runs a full garbage collection in every process whose inspector URL `output` printed, through
 * the Chrome DevTools protocol (`HeapProfiler.collectGarbage`), so a memory reading afterwards
 * shows what is still referenced, not what V8 had no reason to collect yet.
 *
 * @example await collectGarbage(gateway.output()); const memory = await gatewayMemory(metrics);
 */
export async function collectGarbage(output: string): Promise<number> {
  const urls = [...output.matchAll(/Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/g)].map(
    (m) => m[1]!,
  );
  if (urls.length === 0)
    throw new Error("no inspector URL in the output: start the process with INSPECTOR_ENV");
  await Promise.all(urls.map((url) => collectIn(url)));
  return urls.length;
}

function collectIn(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no answer from the inspector at ${url}`));
    }, 30_000);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("open", () => socket.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })));
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; error?: { message: string } };
      if (message.id !== 1) return;
      clearTimeout(timer);
      socket.close();
      if (message.error) reject(new Error(message.error.message));
      else resolve();
    });
  });
}
