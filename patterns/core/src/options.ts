/**
 * Small readers for driver options: each returns the value or records a problem, so a driver's
 * `validate` can report every problem at once.
 */
export class OptionReader {
  readonly problems: string[] = [];

  constructor(private readonly options: Record<string, unknown>) {}

  /** A string option; `fallback` when absent; a problem when required and absent. */
  string(name: string, fallback?: string): string {
    const value = this.options[name];
    if (value === undefined) {
      if (fallback === undefined) this.problems.push(`${name}: required`);
      return fallback ?? "";
    }
    if (typeof value !== "string" || value.length === 0) {
      this.problems.push(`${name}: must be a non-empty string`);
      return fallback ?? "";
    }
    return value;
  }

  /** A positive integer option within [min, max]. */
  integer(name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.options[name];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}: must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  /** Reports options the driver does not know (likely typos). */
  only(...known: string[]): this {
    for (const name of Object.keys(this.options)) {
      if (!known.includes(name)) this.problems.push(`${name}: unknown option (known: ${known.join(", ")})`);
    }
    return this;
  }
}

/**
 * Reads a secret-bearing option: `"env:NAME"` reads the environment variable NAME and
 * `"file:/path"` reads a file, so secrets never sit in config files. Other values are used as is.
 */
export async function resolveSecret(value: string): Promise<string> {
  if (value.startsWith("env:")) {
    const name = value.slice(4);
    const resolved = process.env[name];
    if (resolved === undefined) throw new Error(`environment variable ${name} is not set`);
    return resolved;
  }
  if (value.startsWith("file:")) {
    const { readFile } = await import("node:fs/promises");
    return (await readFile(value.slice(5), "utf8")).trim();
  }
  return value;
}
