import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger };

/**
 * JSON lines to stdout. Redaction is a second line of defence: the code never hands a key or an Authorization
 * header to the logger in the first place.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "apixo-gateway" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "authorization",
        "*.authorization",
        "headers.authorization",
        "headers.cookie",
        "key",
        "*.key",
        "prompt",
      ],
      censor: "[redacted]",
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** LOG_LEVEL overrides the config's `logging.level`; an unknown value is ignored rather than fatal. */
export function logLevelFrom(env: NodeJS.ProcessEnv, configured: string): string {
  const fromEnv = env.LOG_LEVEL?.trim().toLowerCase();
  return fromEnv !== undefined && LEVELS.has(fromEnv) ? fromEnv : configured;
}
