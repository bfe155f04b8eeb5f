/**
 * Preloaded (`--import`) into the gateway a load test or soak starts: when the harness goes away
 * without stopping it (killed, crashed), the IPC channel closes and the gateway terminates itself,
 * so a run never leaves a server behind. The channel is unref'd: it keeps nothing alive.
 */
if (process.channel) {
  process.channel.unref();
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}
