/**
 * Preloaded (`--import`) into every child the bench starts: when the bench process goes away
 * without stopping it (killed, crashed), the IPC channel closes and the child terminates itself,
 * so a benchmark never leaves servers behind. The channel is unref'd: it keeps nothing alive.
 */
if (process.channel) {
  process.channel.unref();
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}
