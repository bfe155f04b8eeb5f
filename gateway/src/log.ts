import pino, { type Logger } from "pino";

export type { Logger } from "pino";

/**
 * The gateway's structured JSON logger. Records never carry request payloads: handlers log
 * namespaces, ids' lengths, codes and timings, and the redaction paths below strip anything that
 * looks like a secret or a value if it is ever passed by mistake.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "prism-gateway" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "value",
          "*.value",
          "items",
          "*.items",
          "password",
          "*.password",
          "url",
          "*.url",
          "authorization",
          "*.authorization",
        ],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
