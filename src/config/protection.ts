import { z } from "zod";

/**
 * `upstream.protection`: what the gateway does once for every tenant of an APIXO account (docs/upstream-
 * protection.md). Everything safe is on by default; early-poll pacing changes what a client sees, so it is off.
 */
const account = z.strictObject({
  /** APIXO's documented per-account limit; null turns the shared bucket off. */
  requestsPerMinute: z.number().positive().nullable().default(10_000),
  /** Requests the account bucket lets through at once; small, so a burst cannot outrun APIXO's window. */
  burst: z.int().positive().default(200),
  /** APIXO's documented concurrent-task limit; null turns the shared in-flight cap off. */
  maxInFlightTasks: z.int().positive().nullable().default(1_000),
});

const minAgeMs = z.strictObject({
  image: z.int().nonnegative().default(5_000),
  video: z.int().nonnegative().default(60_000),
  audio: z.int().nonnegative().default(30_000),
});

export const protectionSchema = z
  .strictObject({
    account: account.prefault({}),
    /** Answer polls of finished tasks from the ledger (APIXO's answer, byte for byte). */
    statusCache: z.boolean().default(true),
    /** Concurrent polls of one task in one process share one APIXO request. */
    coalescePolls: z.boolean().default(true),
    earlyPollPacing: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** A poll of a task younger than this (by model kind) gets the last known answer and Retry-After. */
        minAgeMs: minAgeMs.prefault({}),
      })
      .prefault({}),
    /** Retries of idempotent calls (statusTask, current-balance); a submit only when it was never sent. */
    retries: z
      .strictObject({
        /** Tries in all, the first included; 1 turns retries off. */
        attempts: z.int().min(1).max(10).default(3),
        baseDelayMs: z.int().nonnegative().default(100),
        maxDelayMs: z.int().nonnegative().default(2_000),
      })
      .prefault({}),
    breaker: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** The last N outcomes per upstream key are judged. */
        windowSize: z.int().min(1).default(20),
        /** No verdict on fewer outcomes than this. */
        minRequests: z.int().min(1).default(10),
        /** Opens when this share of the window failed (connect, reset, timeout, 5xx). */
        failureRatio: z.number().gt(0).max(1).default(0.5),
        /** Fail fast for this long, then let probes through. */
        coolDownMs: z.int().positive().default(10_000),
        /** Probes let through when half-open; all must succeed to close. */
        probes: z.int().min(1).default(3),
      })
      .prefault({}),
  })
  .prefault({});

export type ProtectionConfig = z.infer<typeof protectionSchema>;
