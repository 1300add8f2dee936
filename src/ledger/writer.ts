import { AsyncResource } from "node:async_hooks";
import type { Clock } from "../clock.js";
import {
  StoreUnavailable,
  type Ledger,
  type NewTask,
  type ReleaseResult,
  type SettleResult,
} from "../limits/store.js";
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
  /** Times and counts each store call (the governor's instrumentation); a batch's span links its submits'. */
  readonly observe: <T>(
    operation: string,
    call: () => Promise<T>,
    traceparents?: readonly (string | undefined)[],
  ) => Promise<T>;
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

type RecordWrite = Extract<LedgerWrite, { kind: "record" }>;

/**
 * Every ledger write goes through here: applied to the store at once when it can be, else kept in the
 * journal and applied in order when the store is back. While the journal holds anything, new writes queue
 * behind it, so writes about one task (record, then settle) reach the store in the order they were made.
 * A task APIXO accepted during an outage is therefore never lost: it becomes pollable and charged once the
 * store returns (the journal's bounds and what a crash loses are in journal.ts).
 *
 * Records (APIXO accepted a task) of one event-loop turn go to the store together at the turn's end: one round
 * trip per cluster slot instead of one per task. By default the submit is answered once its record is sent,
 * not once the store has applied it: the record is sent before the answer is written, so a poll the answer
 * makes possible reaches the store after it (on this replica: the same connection, in order). The submit
 * waits until the record is applied (or journaled) instead with a journal file, so a crash of the process
 * still loses nothing the answer promised (journal.ts), and with a store that does not answer on send
 * (replica acknowledgements: `Ledger.answersOnSend`). A record the store cannot take goes to the journal as
 * any write.
 */
export class LedgerWriter {
  private draining: Promise<void> | undefined;
  private stopped = false;
  /** Records of this turn, and what lets their submits go on. */
  private batch: { readonly write: RecordWrite; readonly done: () => void }[] = [];
  /** Batches sent and not yet answered: shutdown waits for them. */
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * Sends the batch outside any request's async context: the store span of a batch belongs to no one
   * request's trace (it carries the records of several); it is linked to each submit's span instead.
   */
  private readonly sendBatch = AsyncResource.bind(() => {
    this.flushBatch();
  });
  /** A submit waits for its record's apply, not only its sending (see above). */
  private readonly waitsForApply: boolean;

  constructor(private readonly deps: LedgerWriterDeps) {
    this.waitsForApply = deps.journal.durable || !deps.store.answersOnSend;
  }

  get pending(): number {
    return this.deps.journal.size;
  }

  /**
   * Resolves once the record is sent to the store with this turn's others (with a journal file, or a store
   * that does not answer on send: once the store applied it), or kept in the journal.
   */
  record(write: RecordWrite): Promise<void> {
    if (this.deps.journal.size > 0) {
      this.keep(write);
      return Promise.resolve();
    }
    return new Promise<void>((done) => {
      if (this.batch.push({ write, done }) === 1) setImmediate(this.sendBatch);
    });
  }

  /** Resolves once every record sent so far is applied, or kept in the journal. */
  async idle(): Promise<void> {
    this.flushBatch();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
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
    // Each batch ends within the store's silence timeout: applied, or in the journal.
    await this.idle();
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
      this.failed([write], err);
      return { applied: false };
    }
  }

  /** Sends this turn's records as one store call and tells their submits; the answer is handled here. */
  private flushBatch(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    const writes = batch.map((entry) => entry.write);
    const sending = this.applyRecords(writes).catch((err: unknown) => {
      // Only the journal's own file write can throw here (a full disk): the records are lost, and said so.
      writes.forEach(() => {
        this.deps.journal.countDropped();
      });
      this.deps.logger.error(
        { event: "ledger_write_lost", kind: "record", count: writes.length, err: String(err) },
        "ledger records could be neither applied nor journaled; dropped",
      );
    });
    this.inFlight.add(sending);
    const done = (): void => {
      for (const entry of batch) entry.done();
    };
    void sending.finally(() => this.inFlight.delete(sending));
    if (this.waitsForApply) void sending.finally(done);
    else done();
  }

  private async applyRecords(writes: readonly RecordWrite[]): Promise<void> {
    // A write of this turn failed while the batch waited: the records queue behind it, in order.
    if (this.deps.journal.size > 0) {
      for (const write of writes) this.keep(write);
      return;
    }
    const tasks: NewTask[] = writes.map((write) => write.task);
    try {
      await this.deps.observe(
        "record_task",
        () => this.deps.store.recordTasks(tasks),
        tasks.map((task) => task.traceparent),
      );
    } catch (err) {
      // Some may have been applied (another slot's call answered): applying them again records nothing twice.
      this.failed(writes, err);
    }
  }

  /** The store could not take the writes: kept for later; or it refused them as wrong (a bug): dropped. */
  private failed(writes: readonly LedgerWrite[], err: unknown): void {
    for (const write of writes) {
      if (err instanceof StoreUnavailable) {
        this.keep(write);
        continue;
      }
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
