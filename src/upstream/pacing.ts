import type { Clock } from "../clock.js";
import type { ProtectionConfig } from "../config/protection.js";
import { findModel } from "../apixo/models.js";
import type { StoredAnswer, TaskRecord } from "../limits/store.js";

/** Enough for every task polled in the last minute of a busy gateway; the oldest go first. */
const MAX_REMEMBERED = 20_000;

interface Remembered {
  readonly answer: StoredAnswer;
  readonly expiresAtMs: number;
}

/**
 * Early-poll pacing (off by default): the last non-terminal answer APIXO gave for a task, per process, kept
 * only while the task is younger than its model kind's minimum run time. A poll in that window is answered
 * from it with a Retry-After hint instead of asking APIXO again.
 */
export class LastKnownAnswers {
  private readonly entries = new Map<string, Remembered>();

  constructor(private readonly clock: Clock) {}

  remember(key: string, answer: StoredAnswer, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { answer, expiresAtMs: this.clock.now() + ttlMs });
    if (this.entries.size > MAX_REMEMBERED) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  get(key: string): StoredAnswer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs > this.clock.now()) return entry.answer;
    this.entries.delete(key);
    return undefined;
  }
}

/**
 * How long before the task can plausibly have finished (0: ask APIXO). Only pending tasks of models the
 * gateway knows are paced; the task's age comes from the ledger's submission time.
 */
export function earlyPollWaitMs(
  pacing: ProtectionConfig["earlyPollPacing"],
  task: TaskRecord,
  nowMs: number,
): number {
  if (!pacing.enabled || task.state !== "pending") return 0;
  const kind = findModel(task.model)?.kind;
  if (kind === undefined) return 0;
  return Math.max(0, pacing.minAgeMs[kind] - (nowMs - task.submittedAtMs));
}
