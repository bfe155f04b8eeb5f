import { closeSync, openSync, readSync, statSync } from "node:fs";

const PROBLEM = /\b(ERROR|FATAL|PANIC|SEVERE)\b|^Caused by:|\[(ERR|FTL)\]/;

/**
 * What to show when a server fails to start: the problem lines (errors, exception causes) logged
 * since its last launch, then the log's last lines. The cause of a JVM failure is usually far
 * above the shutdown noise at the end.
 */
export function logExcerpt(file: string, tailLines = 25): string {
  const text = readTail(file, 256 * 1024);
  const sinceLaunch = text.slice(Math.max(0, text.lastIndexOf("\n--- ")));
  const lines = sinceLaunch.trimEnd().split("\n");
  const problems = lines.filter((line) => PROBLEM.test(line)).slice(0, 12);
  const tail = lines.slice(-tailLines);
  const head = problems.filter((line) => !tail.includes(line));
  return head.length > 0 ? [...head, "...", ...tail].join("\n") : tail.join("\n");
}

function readTail(file: string, maxBytes: number): string {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    fd = openSync(file, "r");
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
