/**
 * The governance store: rate limits, in-flight caps, daily spend, the task ledger and idempotency records.
 * Two implementations pass the same contract suite (test/integration/store.contract.ts): Redis (shared by
 * replicas, one Lua script per decision, time from Redis TIME) and in-memory (single process, injected clock).
 *
 * Expected outcomes (denied, duplicate, not found) are values; an unreachable store is a thrown StoreUnavailable.
 * Money is integer micro-USD. Every key of one tenant is built by `keys.ts`, with the hash tag `{tenantId}`.
 */

import type { Attribution, CapSpec, CapWindow, UsageRollup } from "./budget.js";
import type {
  DaySpend,
  LedgerAudit,
  NewTask,
  ReleaseRequest,
  ReleaseResult,
  ReservationRecord,
  SettleRequest,
  SettleResult,
  StoredAnswer,
  TaskRecord,
  TenantSnapshot,
  UnknownOutcome,
} from "./ledgerRecords.js";

export * from "./budget.js";
export type * from "./ledgerRecords.js";

export type Operation = "submit" | "status" | "balance";

/** One token bucket: `name` is unique within the tenant, e.g. "submit", "status", "submit:flux2". */
export interface BucketSpec {
  readonly name: string;
  readonly ratePerSec: number;
  readonly burst: number;
}

/** Header values (IETF RateLimit fields) for the bucket that applied: the tightest one. */
export interface RateInfo {
  /** The bucket's burst. */
  readonly limit: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Whole seconds until the bucket is full again. */
  readonly resetSec: number;
}

/**
 * The calendar days around "now" in the tenant's time zone, computed by the gateway from its own clock; the
 * store picks one of them by its own time (Redis TIME), so replicas with skewed clocks agree on the day.
 */
export interface DayWindow {
  readonly yesterday: string; // "2026-11-21"
  readonly today: string;
  readonly tomorrow: string;
  readonly startTodayMs: number;
  readonly startTomorrowMs: number;
}

/**
 * The account-wide limits of one upstream key (APIXO's own per-account limits), shared by every tenant that
 * uses the key and checked after the tenant's own limits in the same round trip. Keys: `{acct:<upstream>}`.
 */
export interface AccountLimits {
  /** The upstream key's alias (never the key). */
  readonly upstream: string;
  /** null: no account-wide request bucket. */
  readonly bucket: BucketSpec | null;
  /** null: no account-wide in-flight task cap (submit only). */
  readonly maxInFlight: number | null;
}

/** The account, not the tenant, is at its limit: nothing was taken or reserved. */
export interface AccountDenial {
  readonly kind: "account_limited";
  readonly upstream: string;
  readonly reason: "rate" | "concurrency";
  readonly retryAfterSec: number;
  readonly rate: RateInfo;
}

export interface SubmitRequest {
  readonly tenantId: string;
  readonly model: string;
  /** Every bucket must hold a token; all are taken only if every check passes. */
  readonly buckets: readonly BucketSpec[];
  /** null: no in-flight cap. */
  readonly maxInFlight: number | null;
  /**
   * Every cap that applies (a `user_daily` one only with `attribution.user`): the cost must fit in each, and
   * is reserved in all of them at once.
   */
  readonly caps: readonly CapSpec[];
  readonly attribution: Attribution;
  readonly costMicros: number;
  readonly days: DayWindow;
  /** Chosen by the gateway (random); names the in-flight slot and the reservation until a taskId is known. */
  readonly reservationId: string;
  /** In-flight entries older than this are expired (slot released, charge kept) before counting. */
  readonly taskMaxAgeMs: number;
  readonly idempotency?: { readonly key: string; readonly ttlSec: number };
  /** Checked after every tenant check; its in-flight slot is named by `reservationId` until settled. */
  readonly account?: AccountLimits;
  /** The upstream key's alias, kept on the reservation (an operator's release frees its account slot). */
  readonly upstream: string;
}

export interface ExpiredTask {
  readonly taskId: string;
  readonly model: string;
}

export type SubmitDecision =
  | {
      readonly kind: "admitted";
      readonly day: string;
      /** Spend of `day` including this reservation. */
      readonly spentMicros: number;
      /** The smallest budget left over the caps after this reservation; null without caps. */
      readonly remainingMicros: number | null;
      readonly rate: RateInfo;
      readonly expired: readonly ExpiredTask[];
    }
  | {
      readonly kind: "rate_limited";
      readonly bucket: string;
      readonly retryAfterSec: number;
      readonly rate: RateInfo;
    }
  | {
      readonly kind: "concurrency_limited";
      readonly inFlight: number;
      readonly limit: number;
      readonly retryAfterSec: number;
      readonly rate: RateInfo;
    }
  | {
      readonly kind: "spend_cap";
      /** The first cap (in request order) the cost does not fit in. */
      readonly window: CapWindow;
      /** The tenant-local day the store counted in (its month is `monthOf(day)`). */
      readonly day: string;
      readonly capMicros: number;
      readonly spentMicros: number;
      readonly costMicros: number;
      readonly rate: RateInfo;
    }
  /**
   * The idempotency key was used before and its answer is stored: replay it. It took one token of the
   * buckets (a replay is a governed answer) and nothing else: no cost, no slot.
   */
  | {
      readonly kind: "replay";
      readonly answer: StoredAnswer;
      readonly rate: RateInfo;
      /** Spend of the current day. */
      readonly spentMicros: number;
      /** The smallest budget left over the caps, for X-Budget-Remaining-Usd; null without caps. */
      readonly remainingMicros: number | null;
    }
  /** The idempotency key is held by a request still in progress: wait for its answer. */
  | { readonly kind: "in_progress" }
  /**
   * The reservation id was released (or charged) before this admission ran: a late admission, sent before a
   * store timeout and run by Redis afterwards, takes nothing.
   */
  | { readonly kind: "void" }
  | AccountDenial;

export type SimpleDecision =
  | { readonly kind: "admitted"; readonly rate: RateInfo }
  | {
      readonly kind: "rate_limited";
      readonly bucket: string;
      readonly retryAfterSec: number;
      readonly rate: RateInfo;
    };

export type StatusDecision =
  | {
      readonly kind: "admitted";
      readonly rate: RateInfo;
      readonly task: TaskRecord | null;
      /** APIXO's terminal answer for the caller's task, stored when it settled (the status cache). */
      readonly cached?: StoredAnswer;
    }
  | AccountDenial
  | {
      readonly kind: "rate_limited";
      readonly bucket: string;
      readonly retryAfterSec: number;
      readonly rate: RateInfo;
    };

/** The hot path's decisions: one round trip each, taking or reserving only when every check passes. */
export interface Admission {
  /** Idempotency, buckets, in-flight cap, spend cap and account; reserves the cost under `reservationId`. */
  admitSubmit(request: SubmitRequest): Promise<SubmitDecision>;
  /**
   * The status bucket and the caller's ledger record of `taskId` (null if not the caller's), with its cached
   * terminal answer. The account bucket is taken only when APIXO will be asked: the task is the caller's and
   * has no cached answer.
   */
  admitStatus(request: {
    readonly tenantId: string;
    readonly buckets: readonly BucketSpec[];
    readonly taskId: string;
    readonly account?: AccountLimits;
  }): Promise<StatusDecision>;
  admitSimple(request: {
    readonly tenantId: string;
    readonly buckets: readonly BucketSpec[];
  }): Promise<SimpleDecision>;
}

/**
 * The ledger: what became of each reservation and task. Every write is idempotent and commutes with a late
 * admission of the same reservation id (a tombstone refuses it), so writes can be replayed from a journal.
 */
export interface Ledger {
  /**
   * APIXO accepted: the reservation becomes the task's charge (slot renamed, idempotent answer stored). With no
   * reservation in the store (fail-open), the task is charged to `task.day` here. Once per task id.
   */
  recordTask(task: NewTask): Promise<{ readonly recorded: boolean }>;
  /**
   * recordTask for several tasks (the records of one event-loop turn), in as few round trips as the store
   * can (one per cluster slot on Redis); results in the order given. A StoreUnavailable may leave some applied:
   * applying them again records nothing twice.
   */
  recordTasks(tasks: readonly NewTask[]): Promise<readonly { readonly recorded: boolean }[]>;
  /**
   * True when a call's command is on its way once the call returns, later calls of this process reach the store
   * after it, and nothing more is owed before the gateway acts on it: a submit may then be answered once its
   * record is sent (ledger/writer.ts). False with replica acknowledgements: the write must reach the replicas
   * first, and it goes in a pipeline the client may hold back while it checks its scripts are loaded.
   */
  readonly answersOnSend: boolean;
  /** The request never reached APIXO, or APIXO refused it: charge, slot and idempotency hold go back. */
  releaseReservation(request: ReleaseRequest): Promise<ReleaseResult>;
  /** The outcome is unknown: the reservation stays charged, marked so, listed, and releasable by an operator. */
  markUnknown(outcome: UnknownOutcome): Promise<void>;
  /** Exactly once per task, however many callers see the terminal state. */
  settleTask(request: SettleRequest): Promise<SettleResult>;
  /** Expire in-flight entries older than `maxAgeMs` (slot released, charge kept). */
  sweepExpired(tenantId: string, maxAgeMs: number): Promise<readonly ExpiredTask[]>;
  /** Marks `open` reservations admitted more than `olderThanMs` ago as `unknown` (`orphaned`); returns them. */
  markOrphans(tenantId: string, olderThanMs: number): Promise<readonly ReservationRecord[]>;
  getTask(tenantId: string, taskId: string): Promise<TaskRecord | null>;
  reservations(tenantId: string): Promise<readonly ReservationRecord[]>;
  spendOfDays(tenantId: string, days: readonly string[]): Promise<readonly DaySpend[]>;
  /**
   * Sets a month's spend to the sum of its days' spend, atomically, and returns it. Month totals are kept since
   * the version that added monthly caps; days charged before it are counted in by this. Always correct while
   * every replica runs a version that keeps month totals (the days hold every charge either way).
   */
  reconcileMonth(tenantId: string, month: string): Promise<number>;
  /** Spend by user and feature of each period: days ("YYYY-MM-DD") or months ("YYYY-MM"). */
  usage(tenantId: string, periods: readonly string[]): Promise<readonly UsageRollup[]>;
  /** The day's and its month's spend, and `user`'s spend of the day when given. */
  snapshot(tenantId: string, day: string, user?: string): Promise<TenantSnapshot>;
  audit(tenantId: string, day: string): Promise<LedgerAudit>;
}

export interface GovernanceStore extends Admission, Ledger {
  /** Cheap liveness probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The store could not be reached or did not answer in time; the caller applies the failure policy. */
export class StoreUnavailable extends Error {
  /**
   * False only when the command provably never reached the store (not connected, refused by a transient
   * reply): then nothing it would have written can appear later. True after a timeout or a connection lost
   * mid-command: the store may still run it.
   */
  readonly maybeApplied: boolean;

  constructor(message: string, options: { cause?: unknown; maybeApplied?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StoreUnavailable";
    this.maybeApplied = options.maybeApplied ?? true;
  }
}
