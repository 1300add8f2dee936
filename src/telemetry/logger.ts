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

export interface AuditBuffer {
  /** Bytes gathered before one write(2); 0 writes every line as it is logged. */
  readonly bytes: number;
  /** The longest a line waits in the buffer. */
  readonly flushMs: number;
}

/**
 * Standard output for the audit lines, written in blocks of `bytes`; its `flushSync` empties it before exit.
 *
 * With pino's default stdout the audit line is one synchronous write(2) per request, and in a profile of the
 * gateway the event loop spent 30 % of its busy time blocked in it (docs/benchmarks.md, "The audit log,
 * buffered"). pino's own destination (sonic-boom) gathers lines and writes them as one block, still
 * synchronously, and flushes on a timer: only the configuration is ours. Lines are whole in every block, so
 * they interleave with the operational log's (written at once) at line boundaries. Undefined when off.
 */
export function bufferedAuditOutput(
  buffer: AuditBuffer,
  fd = 1,
): ReturnType<typeof pino.destination> | undefined {
  if (buffer.bytes <= 0) return undefined;
  return pino.destination({
    dest: fd,
    sync: true,
    minLength: buffer.bytes,
    // sonic-boom wants its largest single write above the buffer (16 KiB by default).
    maxWrite: Math.max(16_384, 2 * buffer.bytes),
    periodicFlush: buffer.flushMs,
  });
}
