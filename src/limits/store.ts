/**
 * The governance store: rate limits, in-flight caps, daily spend, the task ledger and idempotency records.
 * Two implementations pass the same contract suite (test/integration/store.contract.ts): Redis (shared by
 * replicas, one Lua script per decision, time from Redis TIME) and in-memory (single process, injected clock).
 *
 * Expected outcomes (denied, duplicate, not found) are values; an unreachable store is a thrown StoreUnavailable.
 * Money is integer micro-USD. Every key of one tenant is built by `keys.ts`, with the hash tag `{tenantId}`.
 */

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

/**
 * The spend windows a submit is checked against. `daily` and `monthly` are the tenant's calendar day and month
 * in its time zone; `model_daily` is the day's spend on the request's model; `user_daily` the day's spend of
 * the end user named by the request's X-Gateway-User (never applied to a request without one).
 */
export type CapWindow = "daily" | "monthly" | "model_daily" | "user_daily";

export interface CapSpec {
  readonly window: CapWindow;
  readonly capMicros: number;
}

/** Who inside a tenant spent the money (X-Gateway-User, X-Gateway-Feature): validated, never forwarded. */
export interface Attribution {
  readonly user?: string;
  readonly feature?: string;
}

/** The calendar month a tenant-local day belongs to: "2026-12-31" -> "2026-12". */
export function monthOf(day: string): string {
  return day.slice(0, 7);
}

/** Net spend and tasks charged of one user or feature in one period. */
export interface UsageFigures {
  readonly spentMicros: number;
  /** Tasks charged (admissions not released; a refund keeps the task counted). */
  readonly tasks: number;
}

/** What a tenant spent in one period (a day "YYYY-MM-DD" or a month "YYYY-MM"), and who spent it. */
export interface UsageRollup {
  readonly period: string;
  /** The tenant's net spend of the period, attributed or not. */
  readonly spentMicros: number;
  readonly byUser: Readonly<Record<string, UsageFigures>>;
  readonly byFeature: Readonly<Record<string, UsageFigures>>;
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

/** An upstream answer kept for replay (Idempotency-Key): status, the headers worth replaying, exact body bytes. */
export interface StoredAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
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

export type TerminalState = "success" | "failed";
export type LedgerState = "pending" | TerminalState | "expired";

export interface TaskRecord {
  readonly taskId: string;
  readonly tenantId: string;
  readonly model: string;
  readonly costMicros: number;
  /** The tenant-local day the charge belongs to; a refund goes back to this day. */
  readonly day: string;
  readonly submittedAtMs: number;
  readonly reservationId: string;
  readonly upstream: string;
  readonly state: LedgerState;
  readonly refundedMicros: number;
  readonly failCode?: string;
  /** The W3C traceparent of the submit's server span (tracing on), so a poll's span can link to it. */
  readonly traceparent?: string;
  /** X-Gateway-User of the submit. */
  readonly user?: string;
  /** X-Gateway-Feature of the submit. */
  readonly feature?: string;
}

export interface NewTask {
  readonly tenantId: string;
  readonly taskId: string;
  readonly model: string;
  readonly costMicros: number;
  readonly day: string;
  readonly reservationId: string;
  readonly upstream: string;
  readonly ttlSec: number;
  readonly idempotency?: { readonly key: string; readonly ttlSec: number; readonly answer: StoredAnswer };
  /** See TaskRecord.traceparent. */
  readonly traceparent?: string;
  /** Kept on the record; with no reservation in the store (fail-open) the charge is attributed by it. */
  readonly attribution: Attribution;
}

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

export interface SettleRequest {
  readonly tenantId: string;
  readonly taskId: string;
  readonly state: TerminalState;
  readonly failCode?: string;
  /** Whether a failed task's cost goes back to its day (the refund policy, decided by the caller). */
  readonly refund: boolean;
  /**
   * APIXO's terminal answer, kept on the ledger record (same TTL) for the status cache; stored also when the
   * task had already settled without one.
   */
  readonly answer?: StoredAnswer;
  /** Frees the task's slot in this upstream account's in-flight set too. */
  readonly account?: { readonly upstream: string };
  /**
   * The charge day from the ledger record the caller already read (admitStatus returns it): spares the store
   * a read. The store refuses a day that does not match its record rather than refund to the wrong day.
   */
  readonly day?: string;
}

export interface SettleResult {
  /** True only for the one call that moved the task to a terminal state. */
  readonly settled: boolean;
  readonly refundedMicros: number;
  /** True only for the one call that freed the in-flight slot. */
  readonly slotReleased: boolean;
  readonly task: TaskRecord | null;
}

export interface DaySpend {
  readonly day: string;
  readonly spentMicros: number;
  readonly refundedMicros: number;
  /** model -> net spend (charges minus refunds) of that day. */
  readonly byModel: Readonly<Record<string, number>>;
}

export interface TenantSnapshot {
  readonly tenantId: string;
  /** Net spend of the day asked for. */
  readonly spentMicros: number;
  /** Net spend of that day's calendar month. */
  readonly monthSpentMicros: number;
  /** Net spend of that day by the user asked for (0 when none was). */
  readonly userSpentMicros: number;
  readonly inFlight: number;
  /** Reservations kept as unknown outcomes (all days). */
  readonly unknownOutcomes: number;
}

/** What a reservation that has not become a task is: in progress (`open`) or kept as `unknown` outcome. */
export type ReservationState = "open" | "unknown";

/**
 * A reservation the store still holds: admitted, and neither charged to a task nor released. `unknown` ones
 * may have reached APIXO (a timeout or reset after sending, an unreadable 200, a gateway that died): they
 * stay charged until an operator releases them; their in-flight slot ages out after the task max age.
 */
export interface ReservationRecord {
  readonly tenantId: string;
  readonly reservationId: string;
  readonly day: string;
  readonly model: string;
  readonly costMicros: number;
  readonly upstream: string;
  readonly idempotencyKey: string | undefined;
  /** Holds a slot in the upstream account's in-flight set too. */
  readonly account: boolean;
  readonly admittedAtMs: number;
  readonly state: ReservationState;
  /** Why the outcome is unknown (`timeout`, `reset`, `bad_response`, `orphaned`, ...). */
  readonly reason: string | undefined;
  readonly user: string | undefined;
  readonly feature: string | undefined;
}

export interface ReleaseRequest {
  readonly tenantId: string;
  readonly reservationId: string;
  /**
   * The days the reservation may have been charged to (the admission's day window): the store takes the
   * reservation's own day from its record, and refuses a record whose day is not among these.
   */
  readonly days: readonly string[];
  /** Dropped too when a request of this reservation holds it. */
  readonly idempotencyKey?: string;
  /** Frees the reservation's slot in this upstream account's in-flight set too. */
  readonly account?: { readonly upstream: string };
}

export interface ReleaseResult {
  /** True only for the call that gave the charge and slot back; false when there was nothing (left) to release. */
  readonly released: boolean;
  readonly reservation: ReservationRecord | null;
}

/** A submit that may have reached APIXO and has no known answer: its reservation is kept as `unknown`. */
export interface UnknownOutcome {
  readonly tenantId: string;
  readonly reservationId: string;
  readonly reason: string;
  /**
   * What to charge when the store holds no reservation (the admission never ran: fail-open): the outcome is
   * charged all the same, so an unknown outcome costs the same whatever failed before it.
   */
  readonly charge: {
    readonly day: string;
    readonly model: string;
    readonly costMicros: number;
    readonly upstream: string;
    readonly attribution: Attribution;
  };
}

/** The facts of one tenant-day and its open state, read in one atomic step for the ledger check. */
export interface LedgerAudit {
  readonly day: DaySpend;
  /** Tasks charged to the day (the day's task index), with what their ledger records say. */
  readonly tasks: readonly {
    readonly taskId: string;
    /** null: the index names a task whose record has expired (ledgerTtlHours). */
    readonly record: TaskRecord | null;
  }[];
  /** Every reservation the store holds for the tenant (all days). */
  readonly reservations: readonly ReservationRecord[];
  /** In-flight slots: `r:<reservationId>` or `t:<taskId>`, with admission time (store clock). */
  readonly inFlight: readonly { readonly member: string; readonly atMs: number }[];
  /** Pending state of the tasks named by `t:` slots (null: no record). */
  readonly slotTasks: Readonly<Record<string, TaskRecord | null>>;
  /** The store's clock when it read all this. */
  readonly nowMs: number;
}

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
