import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Kernel clock ticks per second, the unit of utime/stime in `/proc/<pid>/stat`. */
const CLOCK_TICKS = readClockTicks();

/**
 * CPU seconds (user + system) process `pid` has used so far, from `/proc/<pid>/stat`; undefined
 * where there is no procfs (the report then prints "n/a"). Resolution is one clock tick (10 ms).
 *
 * @example const before = cpuSeconds(pid); …; const used = cpuSeconds(pid)! - before!
 */
export function cpuSeconds(pid: number): number | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Seconds the main thread of `pid` has spent runnable but waiting for a CPU (`/proc/<pid>/schedstat`,
 * second field). A large value next to the CPU seconds means the machine was oversubscribed (other
 * work, or client and servers outnumbering the cores): latencies then include scheduling delay.
 *
 * @example runQueueSeconds(process.pid)
 */
export function runQueueSeconds(pid: number): number | undefined {
  const fields = readProc(`/proc/${pid}/schedstat`)?.split(" ");
  return fields?.[1] === undefined ? undefined : Number(fields[1]) / 1e9;
}

/**
 * Peak resident set size of process `pid` in bytes (`VmHWM` in `/proc/<pid>/status`).
 *
 * @example peakRssBytes(gateway.pid) // 98_304_000
 */
export function peakRssBytes(pid: number): number | undefined {
  const status = readProc(`/proc/${pid}/status`);
  const match = status === undefined ? null : /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function readClockTicks(): number {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
}
