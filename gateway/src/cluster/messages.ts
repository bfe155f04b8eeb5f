/**
 * What a worker tells the supervisor over the cluster IPC channel. prom-client's metric
 * requests share the channel; anything without our `type` prefix is not ours.
 */
export type WorkerMessage = { type: "prism:listening"; address: string };

/** True when `message` is a {@link WorkerMessage}. */
export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as { type?: unknown }).type === "prism:listening" &&
    typeof (message as { address?: unknown }).address === "string"
  );
}
