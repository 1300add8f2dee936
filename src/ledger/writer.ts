import type { Clock } from "../clock.js";
import { StoreUnavailable, type Ledger, type ReleaseResult, type SettleResult } from "../limits/store.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import type { Journal } from "./journal.js";
import type { LedgerWrite } from "./writes.js";

export interface LedgerWriterDeps {
  readonly store: Ledger;
  readonly journal: Journal;
  readonly events: GatewayEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Times and counts each store call (the governor's instrumentation). */
  readonly observe: <T>(operation: string, call: () => Promise<T>) => Promise<T>;
  /** Waits between replay attempts while the store is down; injectable so a test clock can drive it. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A write the store took now, with its result; or one kept in the journal for later. */
export type Written<R> = { readonly applied: true; readonly result: R } | { readonly applied: false };

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1_000;

const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * Every ledger write goes through here: applied to the store at once when it can be, else kept in the
 * journal and applied in order when the store is back. While the journal holds anything, new writes queue
 * behind it, so writes about one task (record, then settle) reach the store in the order they were made.
 * A task APIXO accepted during an outage is therefore never lost: it becomes pollable and charged once the
 * store returns (the journal's bounds and what a crash loses are in journal.ts).
 */
export class LedgerWriter {
  private draining: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: LedgerWriterDeps) {}

  get pending(): number {
    return this.deps.journal.size;
  }

  record(write: Extract<LedgerWrite, { kind: "record" }>): Promise<Written<{ readonly recorded: boolean }>> {
    return this.write(write) as Promise<Written<{ readonly recorded: boolean }>>;
  }

  release(write: Extract<LedgerWrite, { kind: "release" }>): Promise<Written<ReleaseResult>> {
    return this.write(write) as Promise<Written<ReleaseResult>>;
  }

  unknown(write: Extract<LedgerWrite, { kind: "unknown" }>): Promise<Written<undefined>> {
    return this.write(write) as Promise<Written<undefined>>;
  }

  settle(write: Extract<LedgerWrite, { kind: "settle" }>): Promise<Written<SettleResult>> {
    return this.write(write) as Promise<Written<SettleResult>>;
  }

  /** Starts applying what the journal holds (a journal file an earlier run left). */
  resume(): void {
    if (this.deps.journal.size > 0) this.kick();
  }

  /** Tries to apply what the journal holds before shutdown, for at most `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    this.kick();
    const deadline = this.deps.clock.monotonicMs() + timeoutMs;
    while (this.deps.journal.size > 0 && this.deps.clock.monotonicMs() < deadline) {
      await (this.deps.sleep ?? realSleep)(RETRY_MIN_MS);
    }
    this.stopped = true;
  }

  private async write(write: LedgerWrite): Promise<Written<unknown>> {
    if (this.deps.journal.size > 0) {
      this.keep(write);
      return { applied: false };
    }
    try {
      return { applied: true, result: await this.apply(write) };
    } catch (err) {
      if (err instanceof StoreUnavailable) this.keep(write);
      else {
        // A write the store refuses as wrong is a bug; the client's answer must still go out.
        this.deps.journal.countDropped();
        this.deps.logger.error(
          {
            event: "ledger_write_refused",
            kind: write.kind,
            err: err instanceof Error ? err.message : String(err),
          },
          "ledger write refused by the store; dropped",
        );
      }
      return { applied: false };
    }
  }

  private keep(write: LedgerWrite): void {
    if (this.deps.journal.size === 0) {
      this.deps.logger.warn(
        { event: "ledger_journal_started", kind: write.kind },
        "the limit store cannot take ledger writes; keeping them in the journal until it is back",
      );
    }
    if (!this.deps.journal.append(write)) {
      this.deps.logger.error(
        { event: "ledger_journal_full", kind: write.kind },
        "ledger write dropped: the journal is full (see ledger_journal_dropped_total)",
      );
    }
    this.kick();
  }

  private kick(): void {
    if (this.draining !== undefined || this.stopped) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    const journal = this.deps.journal;
    let delayMs = RETRY_MIN_MS;
    let applied = 0;
    for (let next = journal.peek(); next !== undefined && !this.stopped; next = journal.peek()) {
      try {
        await this.apply(next);
        journal.shift();
        applied += 1;
        delayMs = RETRY_MIN_MS;
        if (journal.size === 0) {
          this.deps.logger.info(
            { event: "ledger_journal_drained", applied },
            "the journal's ledger writes are applied; the store is up to date",
          );
        }
      } catch (err) {
        if (err instanceof StoreUnavailable) {
          await (this.deps.sleep ?? realSleep)(delayMs);
          delayMs = Math.min(delayMs * 2, RETRY_MAX_MS);
          continue;
        }
        // Not the store's absence but the write itself (a bug): kept, it would block every write after it.
        this.deps.logger.error(
          {
            event: "ledger_write_refused",
            kind: next.kind,
            err: err instanceof Error ? err.message : String(err),
          },
          "journaled ledger write refused by the store; dropped",
        );
        journal.shift({ dropped: true });
      }
    }
  }

  private async apply(write: LedgerWrite): Promise<unknown> {
    const { store, observe } = this.deps;
    switch (write.kind) {
      case "record":
        return observe("record_task", () => store.recordTask(write.task));
      case "release":
        return observe("release", () => store.releaseReservation(write.release));
      case "unknown":
        return observe("mark_unknown", () => store.markUnknown(write.outcome));
      case "settle": {
        const result = await observe("settle", () => store.settleTask(write.settle));
        // Reported here, where it happened, whether now or replayed from the journal.
        if (result.settled) {
          this.deps.events.taskFinished({
            tenant: write.report.tenant,
            upstream: result.task?.upstream,
            model: write.report.model,
            state: write.settle.state,
            failCode: write.settle.failCode,
            refundedMicros: result.refundedMicros,
            costTimeMs: write.report.costTimeMs,
            // The refund goes back to the feature its charge was counted under (feature_refunds_usd_total).
            feature: result.task?.feature,
          });
        }
        return result;
      }
    }
  }
}
